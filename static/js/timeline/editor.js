// Corrections through the story API: every change is saved at once, confirmed with a toast
// (with Undo), and followed by a reload of the timeline. Other tabs learn about it over the
// WebSocket (their events name the tab that asked, so this one skips its own) and reload too.

import { ApiError, apiFetch } from "../api.js";

function fill(template, values) {
  return Object.entries(values).reduce(
    (url, [key, value]) => url.replace(`{${key}}`, encodeURIComponent(String(value))),
    template,
  );
}

export class Editor {
  /**
   * @param {{urls: object, model: object, toaster: object, reload: () => Promise<void>}} options
   */
  constructor({ urls, model, toaster, reload }) {
    this.urls = urls;
    this.model = model;
    this.toaster = toaster;
    this.reload = reload;
    this.busy = Promise.resolve();
    this.changeToasts = new Map(); // edit key ("storyline-3", "cut-7") -> its change's toast
    this.made = []; // the edit keys of the change under way
  }

  /** Run API calls one after the other (a fast typist must not reorder them). */
  queue(task) {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => {});
    return run;
  }

  async call(url, method, json) {
    const body = await apiFetch(url, { method, json });
    const key = body?.edit_id !== undefined ? `storyline-${body.edit_id}` : body?.edit ? `cut-${body.edit.id}` : null;
    if (key) this.made.push(key);
    return body;
  }

  /** Take away the toast of a change once undone (here or in another tab): its Undo would
   *  now take back something else. */
  forget(key) {
    const toast = this.changeToasts.get(key);
    if (!toast) return;
    toast.remove();
    for (const [other, shown] of this.changeToasts) if (shown === toast) this.changeToasts.delete(other);
  }

  async change(work, message) {
    return this.queue(async () => {
      this.made = [];
      try {
        await work();
        await this.reload();
        const undo = { label: "Undo", run: () => this.undo() };
        const toast = this.toaster.show(typeof message === "function" ? message() : message, { action: undo });
        for (const [key, shown] of this.changeToasts) if (!shown.isConnected) this.changeToasts.delete(key);
        for (const key of this.made) this.changeToasts.set(key, toast);
        return true;
      } catch (error) {
        this.toaster.show(error instanceof ApiError ? error.message : String(error), { kind: "error" });
        await this.reload().catch(() => {});
        return false;
      }
    });
  }

  storylineName(id) {
    return id === null ? "no storyline" : `\u201c${this.model.storyline(id)?.name ?? "?"}\u201d`;
  }

  /** Move scenes to a storyline (null: to none). */
  move(sceneIds, storylineId) {
    const ids = sceneIds.filter((id) => (this.model.scene(id)?.storyline_id ?? null) !== storylineId);
    if (!ids.length) return Promise.resolve(false);
    const target = this.storylineName(storylineId);
    const what = ids.length === 1 ? `Scene ${this.model.scene(ids[0]).index + 1}` : `${ids.length} scenes`;
    return this.change(async () => {
      for (const id of ids) {
        await this.call(fill(this.urls.move, { scene: id }), "POST", { storyline_id: storylineId });
      }
    }, storylineId === null ? `${what} taken out of every storyline` : `${what} moved to ${target}`);
  }

  rename(storylineId, name) {
    const old = this.model.storyline(storylineId)?.name;
    return this.change(
      () => this.call(fill(this.urls.storyline, { storyline: storylineId }), "PATCH", { name }),
      `\u201c${old}\u201d renamed to \u201c${name}\u201d`,
    );
  }

  recolour(storylineId, color) {
    return this.change(
      () => this.call(fill(this.urls.storyline, { storyline: storylineId }), "PATCH", { color }),
      `New colour for ${this.storylineName(storylineId)}`,
    );
  }

  create(name, sceneIds) {
    return this.change(
      () => this.call(this.urls.create, "POST", { name, scene_ids: sceneIds }),
      sceneIds.length ? `\u201c${name}\u201d created with ${sceneIds.length} scene(s)` : `\u201c${name}\u201d created`,
    );
  }

  split(storylineId, sceneIds, name) {
    return this.change(
      () => this.call(fill(this.urls.split, { storyline: storylineId }), "POST", { scene_ids: sceneIds, name }),
      `${sceneIds.length} scene(s) split off into \u201c${name}\u201d`,
    );
  }

  merge(storylineId, intoId) {
    const from = this.storylineName(storylineId);
    const into = this.storylineName(intoId);
    return this.change(
      () => this.call(fill(this.urls.merge, { storyline: storylineId }), "POST", { into_id: intoId }),
      `${from} merged into ${into}`,
    );
  }

  /** A cut edit (`cuts` API): the server's summary names the scenes by number. */
  cut(url, payload) {
    let summary = "";
    return this.change(async () => {
      summary = (await this.call(url, "POST", payload)).edit.summary;
    }, () => summary);
  }

  addCut(time) {
    return this.cut(this.urls.cut_add, { time });
  }

  removeCut(sceneId) {
    return this.cut(this.urls.cut_remove, { scene_id: sceneId });
  }

  moveCut(sceneId, to) {
    return this.cut(this.urls.cut_move, { scene_id: sceneId, to });
  }

  step(which) {
    return this.queue(async () => {
      try {
        const body = await this.call(this.urls[which], "POST");
        await this.reload();
        // The undone change's confirmation (and its Undo button) would now be wrong.
        if (which === "undo" && body) this.forget(`${body.kind}-${body.id}`);
        const what = body?.summary ? `: ${body.summary}` : "";
        this.toaster.show(which === "undo" ? `Undone${what}` : `Redone${what}`, { kind: "info", ms: 2500 });
      } catch (error) {
        this.toaster.show(error instanceof ApiError ? error.message : String(error), { kind: "error" });
      }
    });
  }

  undo() {
    return this.step("undo");
  }

  redo() {
    return this.step("redo");
  }
}
