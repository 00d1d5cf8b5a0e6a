// The export panel: choose a storyline (or the whole analysis), a format and a cut mode; jobs run
// in the background with progress (WebSocket events, and polling as a fallback) and end with a
// download link. The formats and modes come from the server's registry (GET /api/export-formats).

import { ApiError, apiFetch } from "../api.js";
import { fileSize, percent } from "../format.js";

const MODES = { smart: "frame-accurate", exact: "frame-accurate, re-encoded", copy: "keyframes only" };
const POLL_MS = 1000;

export class ExportPanel {
  constructor({ form, list, urls, toaster, model }) {
    this.form = form;
    this.list = list;
    this.urls = urls;
    this.toaster = toaster;
    this.model = model;
    this.jobs = new Map();
    this.formats = []; // from the registry: [{name, label, analysis_label, scopes, cut_mode}]
    this.polls = new Map();
    this.target = form.querySelector("[name=target]");
    this.kind = form.querySelector("[name=kind]");
    this.mode = form.querySelector("[name=mode]");
    this.modeField = form.querySelector("[data-field=mode]");
    this.note = form.querySelector("[data-testid=export-note]");
    this.keyframeCut = null; // the keyframes-only preview, fetched once per storyline state
    this.target.addEventListener("change", () => this.fillKinds());
    this.kind.addEventListener("change", () => this.syncMode());
    this.mode.addEventListener("change", () => this.syncNote());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
  }

  /** Refill the storyline choice after the storylines changed (keeps the current choice). */
  syncStorylines() {
    const current = this.target.value;
    const options = [new Option("Whole analysis", "")];
    for (const s of this.model.storylines) options.push(new Option(s.name, String(s.id)));
    this.target.replaceChildren(...options);
    this.target.value = [...this.target.options].some((o) => o.value === current) ? current : this.model.storylines[0] ? String(this.model.storylines[0].id) : "";
    this.keyframeCut = null; // the storylines changed: so does what a keyframe cut holds
    this.fillKinds();
    this.refreshJobs();
  }

  fillKinds() {
    const scope = this.target.value ? "storyline" : "analysis";
    const current = this.kind.value;
    const formats = this.formats.filter((f) => f.scopes.includes(scope));
    this.kind.replaceChildren(...formats.map((f) => new Option(scope === "storyline" ? f.label : f.analysis_label, f.name)));
    if (formats.some((f) => f.name === current)) this.kind.value = current;
    this.syncMode();
  }

  cutsVideo(kind) {
    const format = this.formats.find((f) => f.name === kind);
    return Boolean(format && format.cut_mode);
  }

  syncMode() {
    this.modeField.hidden = !this.cutsVideo(this.kind.value);
    this.syncNote();
  }

  /** The formats and cut modes from the server's registry. */
  async loadFormats() {
    const registry = await apiFetch(this.urls.formats);
    this.formats = registry.formats;
    const current = this.mode.value;
    this.mode.replaceChildren(...registry.modes.map((m) => new Option(m.label, m.name)));
    this.mode.value = registry.modes.some((m) => m.name === current) ? current : registry.default_mode;
    this.fillKinds();
  }

  /** Before a keyframes-only cut: say how many seconds of other footage it will include. */
  async syncNote() {
    const wanted = !this.modeField.hidden && this.mode.value === "copy";
    this.note.hidden = !wanted;
    if (!wanted) return;
    this.note.textContent = "Keyframes only: measuring the neighbouring footage\u2026";
    try {
      this.keyframeCut ??= apiFetch(this.urls.keyframeCut);
      const previews = await this.keyframeCut;
      const id = Number(this.target.value);
      const chosen = this.target.value ? previews.filter((p) => p.storyline_id === id) : previews;
      const extra = chosen.reduce((sum, p) => sum + p.extra_seconds, 0);
      this.note.textContent = `Keyframes only: the cut includes ${extra.toFixed(1)} s of other footage around the storyline's scenes. Choose frame-accurate to get only the storyline.`;
    } catch (error) {
      this.keyframeCut = null;
      this.note.textContent = error instanceof ApiError ? error.message : String(error);
    }
  }

  async load() {
    await this.loadFormats();
    await this.refreshJobs();
  }

  /** The jobs with their "out of date" flags (the storylines may have changed since). */
  async refreshJobs() {
    if (!this.formats.length) return; // not loaded yet: load() will fetch them
    const asked = (this.refreshes = (this.refreshes || 0) + 1);
    try {
      const jobs = await apiFetch(this.urls.exports);
      if (asked !== this.refreshes) return; // an answer to an older question, arriving late
      for (const job of jobs.reverse()) this.upsert(job);
    } catch {
      /* the next change or reload tries again */
    }
  }

  /** Stop a queued or running export (it keeps no file). */
  async cancel(id) {
    try {
      this.upsert(await apiFetch(`${this.urls.export.replace("{id}", id)}/cancel`, { method: "POST" }));
    } catch (error) {
      this.toaster.show(error instanceof ApiError ? error.message : String(error), { kind: "error" });
    }
  }

  /** One click on an out-of-date export: make it again from the storylines as they are. */
  async remake(job) {
    try {
      const fresh = await apiFetch(`${this.urls.export.replace("{id}", job.id)}/remake`, { method: "POST" });
      this.upsert(fresh);
      this.toaster.show("Remaking the export from the current storylines", { kind: "info" });
    } catch (error) {
      this.toaster.show(error instanceof ApiError ? error.message : String(error), { kind: "error" });
    }
  }

  async start() {
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    const payload = { kind: this.kind.value, storyline_id: this.target.value ? Number(this.target.value) : null };
    if (this.cutsVideo(payload.kind)) payload.mode = this.mode.value;
    try {
      const job = await apiFetch(this.urls.exports, { method: "POST", json: payload });
      this.upsert(job);
      this.toaster.show(job.cached ? "This export is ready: nothing changed since it was made." : "Export started", { kind: "info" });
    } catch (error) {
      this.toaster.show(error instanceof ApiError ? error.message : String(error), { kind: "error" });
    } finally {
      button.disabled = false;
    }
  }

  /** A job's state from a WebSocket event, which may arrive after a fresher API answer: once a
   * job is known finished, whether it is out of date is the API's word (refreshJobs). */
  fromEvent(job) {
    const known = this.jobs.get(job.id);
    this.upsert(known && known.status === "completed" ? { ...job, stale: known.stale } : job);
  }

  /** A job's state from the API or a WebSocket event. */
  upsert(job) {
    const known = this.jobs.get(job.id);
    if (known && known.status === "completed" && job.status !== "completed") return; // late event
    this.jobs.set(job.id, { ...known, ...job });
    this.renderJob(this.jobs.get(job.id));
    if (job.status === "queued" || job.status === "running") this.poll(job.id);
    else {
      clearTimeout(this.polls.get(job.id));
      this.polls.delete(job.id);
    }
  }

  poll(id) {
    if (this.polls.has(id)) return;
    const tick = async () => {
      try {
        const job = await apiFetch(this.urls.export.replace("{id}", id));
        this.polls.delete(id);
        this.upsert(job);
      } catch {
        this.polls.set(id, setTimeout(tick, POLL_MS * 3));
      }
    };
    this.polls.set(id, setTimeout(tick, POLL_MS));
  }

  label(job) {
    const what = job.storyline_name ? job.storyline_name : "Whole analysis";
    const extra = job.metadata && job.metadata.extra_seconds != null ? ` (+${job.metadata.extra_seconds.toFixed(1)} s other footage)` : "";
    const mode = job.mode ? ` \u00b7 ${MODES[job.mode] || job.mode}${job.mode === "copy" ? extra : ""}` : "";
    return `${what} \u00b7 ${job.kind_label || job.kind}${mode}`;
  }

  renderJob(job) {
    let item = this.list.querySelector(`[data-job="${job.id}"]`);
    if (!item) {
      item = document.createElement("li");
      item.className = "export-job";
      item.dataset.job = job.id;
      item.dataset.testid = "export-job";
      item.innerHTML = '<span class="export-job__label"></span><span class="export-job__state"></span><div class="progress"><div class="progress__fill"></div></div><a class="btn btn--small btn--primary export-job__download" data-testid="export-download" hidden>Download</a><button type="button" class="btn btn--small export-job__remake" data-testid="export-remake" hidden>Remake</button><button type="button" class="btn btn--small export-job__cancel" data-testid="export-cancel" hidden>Cancel</button>';
      item.querySelector(".export-job__cancel").addEventListener("click", () => this.cancel(job.id));
      item.querySelector(".export-job__remake").addEventListener("click", () => this.remake(this.jobs.get(job.id)));
      this.list.prepend(item);
    }
    item.dataset.status = job.status;
    item.querySelector(".export-job__label").textContent = this.label(job);
    const value = job.status === "completed" ? 100 : percent(job.progress);
    const state = { queued: "Waiting\u2026", running: `${value} % \u00b7 ${job.message || ""}`, completed: `${job.stale ? "Out of date: the scenes or storylines changed since" : "Ready"} \u00b7 ${fileSize(job.size_bytes)}`, failed: job.error || "Failed" }[job.status];
    item.querySelector(".export-job__state").textContent = state || job.status;
    const bar = item.querySelector(".progress");
    bar.hidden = job.status === "completed" || job.status === "failed";
    bar.style.setProperty("--value", `${value}%`);
    item.dataset.stale = job.stale ? "true" : "false";
    item.querySelector(".export-job__remake").hidden = !(job.stale && job.status === "completed");
    item.querySelector(".export-job__cancel").hidden = !(job.status === "queued" || job.status === "running");
    const link = item.querySelector(".export-job__download");
    link.hidden = !job.download_url;
    if (job.download_url) {
      link.href = job.download_url;
      link.setAttribute("download", job.filename || "");
      link.setAttribute("aria-label", `Download ${job.filename}`);
    }
  }
}
