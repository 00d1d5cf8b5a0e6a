// Cut review: the list of cuts between scenes (go to one, move it to the playhead, remove it)
// and the state of the partial re-run that follows every cut edit. The edits themselves go
// through the Editor (toast with Undo, reload); this panel follows the analysis's progress
// events while the touched scenes are re-run, and reloads everything once they are done.

import { apiFetch } from "../api.js";
import { timeLeft, timecode } from "../format.js";

const ACTIVE = new Set(["queued", "running"]);

export class CutPanel {
  /**
   * @param {{root: HTMLElement, url: string, editor: object, model: object, toaster: object,
   *          playhead: () => number, seek: (time: number) => void,
   *          onEdited: () => Promise<void>, onRerunDone: () => Promise<void>,
   *          onPending: (ids: string[]) => void}} options
   */
  constructor({ root, url, editor, model, toaster, playhead, seek, onEdited, onRerunDone, onPending }) {
    Object.assign(this, { root, url, editor, model, toaster, playhead, seek, onEdited, onRerunDone, onPending });
    this.list = root.querySelector("[data-cuts-list]");
    this.count = root.querySelector("[data-cuts-count]");
    this.status = root.querySelector("[data-cuts-status]");
    this.bar = root.querySelector("[data-cuts-progress]");
    this.retryButton = root.querySelector("[data-cuts-retry]");
    this.retryButton.addEventListener("click", () => this.retry());
    this.state = { cuts: [], rescene_scenes: [], status: "completed" };
    this.running = false;
    this.list.addEventListener("click", (event) => this.onClick(event));
  }

  async load() {
    this.state = await apiFetch(this.url);
    this.render();
    const rerun = ACTIVE.has(this.state.status) && this.state.rescene_scenes.length;
    if (rerun && !this.running) this.showRerun({ status: this.state.status, progress: 0, message: this.state.message || "" });
    else if (!rerun && this.state.rescene_error) this.showFailure();
  }

  /** The latest re-run failed: the analysis kept its earlier results; offer to run it again. */
  showFailure() {
    const scenes = this.state.rescene_failed_scenes.map((id) => id.replace("scene_", ""));
    const which = scenes.length === 1 ? `scene ${scenes[0]}` : `scenes ${scenes.join(", ")}`;
    this.status.hidden = false;
    this.status.dataset.state = "failed";
    this.status.querySelector("[data-cuts-text]").textContent = `The re-run of ${which} failed: ${this.state.rescene_error} The rest of the analysis keeps its results.`;
    this.retryButton.hidden = false;
    this.retryButton.setAttribute("aria-label", `Retry the re-run of ${which}`);
  }

  async retry() {
    this.retryButton.disabled = true;
    try {
      this.state = await apiFetch(`${this.url}/retry`, { method: "POST" });
      this.retryButton.hidden = true;
      this.showRerun({ status: this.state.status, progress: 0, message: this.state.message || "" });
    } catch (error) {
      this.toaster.show(error.message || String(error), { kind: "error" });
    } finally {
      this.retryButton.disabled = false;
    }
  }

  /** Cuts are where a scene other than the first starts (from the model, always current). */
  cuts() {
    return this.model.scenes.filter((scene) => scene.index > 0).map((scene) => ({ time: scene.start, sceneId: scene.id, number: scene.index + 1 }));
  }

  /** The cut nearest `time` (or null without cuts). */
  nearest(time) {
    let best = null;
    for (const cut of this.cuts()) if (!best || Math.abs(cut.time - time) < Math.abs(best.time - time)) best = cut;
    return best;
  }

  render() {
    const cuts = this.cuts();
    this.count.textContent = String(cuts.length);
    this.list.replaceChildren(
      ...cuts.map((cut) => {
        const item = document.createElement("li");
        item.className = "cut-item";
        item.dataset.testid = "cut-item";
        item.dataset.scene = cut.sceneId;
        item.dataset.time = String(cut.time);
        item.innerHTML = '<button type="button" class="btn btn--small btn--ghost num" data-action="go"></button><span class="cut-item__what muted"></span><button type="button" class="btn btn--small btn--ghost" data-action="move">Move to playhead</button><button type="button" class="btn btn--small btn--ghost" data-action="remove">Remove</button>';
        const go = item.querySelector('[data-action="go"]');
        go.textContent = timecode(cut.time);
        go.setAttribute("aria-label", `Go to the cut at ${timecode(cut.time)}`);
        item.querySelector(".cut-item__what").textContent = `scene ${cut.number - 1} | scene ${cut.number}`;
        item.querySelector('[data-action="move"]').setAttribute("aria-label", `Move the cut before scene ${cut.number} to the playhead`);
        item.querySelector('[data-action="remove"]').setAttribute("aria-label", `Remove the cut before scene ${cut.number}`);
        for (const button of item.querySelectorAll('[data-action="move"], [data-action="remove"]')) button.disabled = this.running;
        return item;
      }),
    );
  }

  onClick(event) {
    const button = event.target.closest("button[data-action]");
    const item = button?.closest(".cut-item");
    if (!item) return;
    const sceneId = item.dataset.scene;
    if (button.dataset.action === "go") this.seek(Number(item.dataset.time));
    else if (button.dataset.action === "remove") this.remove(sceneId);
    else this.move(sceneId, this.playhead());
  }

  /** Run a cut edit; once saved, the touched scenes show as being re-run. */
  async edit(saving) {
    if (await saving) {
      await this.onEdited();
      await this.changed();
      if (!ACTIVE.has(this.state.status)) await this.onRerunDone(); // done already
    }
  }

  addAtPlayhead() {
    return this.edit(this.editor.addCut(this.playhead()));
  }

  remove(sceneId) {
    return this.edit(this.editor.removeCut(sceneId));
  }

  move(sceneId, to) {
    return this.edit(this.editor.moveCut(sceneId, to));
  }

  removeNearest() {
    const cut = this.nearest(this.playhead());
    if (!cut) this.toaster.show("This video has no cut to remove.", { kind: "info" });
    else this.remove(cut.sceneId);
  }

  moveNearest() {
    const cut = this.nearest(this.playhead());
    if (!cut) this.toaster.show("This video has no cut to move.", { kind: "info" });
    else this.move(cut.sceneId, this.playhead());
  }

  /** An edit was saved (here or in another window): fetch which scenes are re-run. */
  async changed() {
    await this.load();
    this.onPending(this.state.rescene_scenes);
  }

  /** A progress event of the analysis (the re-run is the analysis's own job). */
  progress(event) {
    if (!ACTIVE.has(event.status)) {
      if (this.running || this.state.rescene_scenes.length) this.finishRerun(event);
    } else if (this.running) {
      this.showRerun(event);
    } else if (!this.fetching) {
      // A re-run this panel did not start (an Undo toast, another window): learn its scenes.
      this.fetching = this.changed().finally(() => {
        this.fetching = null;
      });
    }
  }

  showRerun(event) {
    this.running = true;
    this.retryButton.hidden = true;
    const scenes = this.state.rescene_scenes.map((id) => id.replace("scene_", ""));
    const which = scenes.length === 1 ? `scene ${scenes[0]}` : `scenes ${scenes.join(", ")}`;
    const percent = Math.round((event.progress || 0) * 100);
    this.status.hidden = false;
    this.status.dataset.state = "running";
    // The time left as the analysis page shows it, from the worker's estimate.
    const parts = [`Re-running ${which}: ${percent} %`, timeLeft(event), event.message].filter(Boolean);
    this.status.querySelector("[data-cuts-text]").textContent = parts.join(" \u00b7 ");
    this.bar.style.setProperty("--value", `${percent}%`);
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.onPending(this.state.rescene_scenes);
    this.render();
  }

  async finishRerun(event) {
    this.running = false;
    const scenes = this.state.rescene_scenes.map((id) => id.replace("scene_", ""));
    this.onPending([]);
    await this.load().catch(() => {}); // a failed re-run leaves the analysis completed: ask
    this.status.dataset.state = event.status;
    if (event.status === "completed") await this.onRerunDone();
    if (this.state.rescene_error) {
      this.showFailure();
    } else if (event.status === "completed") {
      this.status.hidden = true;
      this.toaster.show(`Scene${scenes.length === 1 ? "" : "s"} ${scenes.join(", ")} re-run: pictures, sound and storylines updated`, { kind: "info" });
    } else {
      this.status.querySelector("[data-cuts-text]").textContent = `The re-run stopped (${event.status}): ${event.error || event.message || ""} Edit a cut again to retry.`;
    }
  }
}
