// The timeline page: wires the player, the canvas timeline, lane headers (rename, recolour,
// merge), the details panel, shortcuts, exports and the live connection together.

import { TAB_ID, apiFetch, pageData } from "../api.js";
import { timecode } from "../format.js";
import { CutPanel } from "./cuts.js";
import { DetailsPanel } from "./details.js";
import { Editor } from "./editor.js";
import { ExportPanel } from "./exports.js";
import { bindShortcuts, fillHelp } from "./keys.js";
import { LiveSocket } from "./live.js";
import { NO_STORYLINE, TimelineModel } from "./model.js";
import { Splitter } from "../splitter.js";
import { Toaster } from "./toast.js";
import { SpokenLine } from "./transcript.js";
import { Transport } from "./transport.js";
import { TimelineView } from "./view.js";

const data = pageData("timeline-data");
const $ = (id) => document.getElementById(id);
const player = $("player");
const model = new TimelineModel();
const toaster = new Toaster($("toasts"));
const spoken = new SpokenLine($("spoken-line"));
let selection = []; // scene ids, the first is the one shown in the details panel

const view = new TimelineView({
  canvas: $("timeline-canvas"),
  model,
  // A click parks the playhead on the scene, as in editing software; Space or L plays.
  onSceneClick: (scene, { additive }) => (additive ? toggleSelected(scene.id) : selectScene(scene.id, false)),
  onSceneDrop: (ids, storylineId) => editor.move(ids, storylineId),
  onSeek: (time, scene) => {
    seek(time);
    if (scene) select([scene.id]);
  },
  onLayout: renderHeaders,
  onViewChange: syncRanges,
  onCutMove: (sceneId, time) => cutPanel.move(sceneId, time),
});

const editor = new Editor({ urls: data.urls, model, toaster, reload });
const details = new DetailsPanel({
  root: $("details"),
  urlFor: (id) => data.urls.scene.replace("{scene}", encodeURIComponent(id)),
  onSeek: seek,
  onSelect: selectScene,
});
const transport = new Transport({ player, fps: () => model.fps, duration: () => model.duration || player.duration || 0 });
transport.on("seek", (time) => {
  seek(time);
  view.reveal(time);
});
transport.on("marks", (marks) => {
  view.setMarks(marks);
  renderMarks(marks);
});
const cutPanel = new CutPanel({
  root: $("cuts-panel"),
  url: data.urls.cuts,
  editor,
  model,
  toaster,
  playhead: () => player.currentTime,
  seek: (time) => {
    seek(time);
    view.reveal(time);
  },
  onEdited: () => loadTranscript(),
  onRerunDone: async () => {
    await Promise.all([reload(), loadTranscript()]);
    await exportsPanel.refreshJobs();
  },
  onPending: (ids) => view.setPending(ids),
});
const exportsPanel = new ExportPanel({
  form: $("export-form"),
  list: $("export-jobs"),
  urls: { exports: data.urls.exports, export: data.urls.export, keyframeCut: data.urls.keyframe_cut, formats: data.urls.export_formats },
  toaster,
  model,
});

// --- Data ---------------------------------------------------------------------------------

let laneSignature = "";

async function reload() {
  const body = await apiFetch(data.urls.timeline);
  model.update(body);
  const signature = model.lanes.map((l) => `${l.key}:${l.storyline?.name}:${l.storyline?.color}`).join("|");
  if (signature !== laneSignature) {
    laneSignature = signature;
    view.layout();
    exportsPanel.syncStorylines();
  } else {
    renderHeaderCounts();
    view.requestRender();
    exportsPanel.refreshJobs(); // a scene moved in or out: earlier exports may be out of date
  }
  selection = selection.filter((id) => model.scene(id));
  view.select(selection);
  renderSelection();
  $("undo-button").disabled = !model.canUndo;
  $("redo-button").disabled = !model.canRedo;
  $("scene-total").textContent = `${model.scenes.length} scenes \u00b7 ${model.storylines.length} storylines`;
  cutPanel.render();
  renderReview();
  if (selection[0]) details.show(selection[0], model);
}

async function loadTranscript() {
  model.setSegments(await apiFetch(data.urls.transcript));
  view.requestRender();
}

async function loadWaveform() {
  model.waveform = await apiFetch(data.urls.waveform);
  view.requestRender();
}

// --- Lane headers ---------------------------------------------------------------------------

const ROW_LABELS = { ruler: "Time", film: "Film", text: "Transcript", wave: "Sound" };

function renderHeaders(rows) {
  const root = $("lane-headers");
  root.replaceChildren(
    ...rows.map((row) => {
      const item = document.createElement("div");
      item.className = `lane-head lane-head--${row.kind}`;
      item.style.height = `${row.h}px`;
      if (row.kind !== "lane") item.textContent = ROW_LABELS[row.kind];
      else if (row.lane.key === NO_STORYLINE) {
        item.dataset.testid = "lane-none";
        item.innerHTML = '<span class="lane-head__swatch lane-head__swatch--none" aria-hidden="true"></span><span class="lane-head__name">No storyline</span><span class="lane-head__count muted num"></span>';
      } else item.append(...laneControls(row.lane.storyline, row.index));
      item.dataset.lane = String(row.lane?.key ?? row.kind);
      return item;
    }),
  );
  renderHeaderCounts();
}

function laneControls(storyline, index) {
  const colour = document.createElement("input");
  colour.type = "color";
  colour.value = storyline.color;
  colour.className = "lane-head__colour";
  colour.setAttribute("aria-label", `Colour of ${storyline.name}`);
  colour.dataset.testid = "lane-colour";
  colour.addEventListener("change", () => editor.recolour(storyline.id, colour.value));
  const name = document.createElement("button");
  name.type = "button";
  name.className = "lane-head__name";
  name.dataset.testid = "lane-name";
  name.textContent = storyline.name;
  name.title = `${storyline.name} (key ${index + 1}). Click to rename.`;
  name.addEventListener("click", () => startRename(name, storyline));
  const count = document.createElement("span");
  count.className = "lane-head__count muted num";
  const merge = document.createElement("select");
  merge.className = "lane-head__merge";
  merge.setAttribute("aria-label", `Merge ${storyline.name} into another storyline`);
  merge.dataset.testid = "lane-merge";
  merge.append(new Option("Merge into\u2026", ""));
  for (const other of model.storylines) if (other.id !== storyline.id) merge.append(new Option(other.name, String(other.id)));
  merge.addEventListener("change", () => {
    if (merge.value) editor.merge(storyline.id, Number(merge.value));
    merge.value = "";
  });
  const key = document.createElement("kbd");
  key.className = "lane-head__key";
  key.textContent = index < 9 ? String(index + 1) : "";
  return [key, colour, name, count, merge];
}

function startRename(button, storyline) {
  const input = document.createElement("input");
  input.className = "lane-head__input";
  input.value = storyline.name;
  input.maxLength = 200;
  input.dataset.testid = "lane-name-input";
  input.setAttribute("aria-label", "Storyline name");
  let done = false;
  const finish = (save) => {
    if (done) return;
    done = true;
    const value = input.value.trim();
    input.replaceWith(button);
    if (save && value && value !== storyline.name) editor.rename(storyline.id, value);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  button.replaceWith(input);
  input.focus();
  input.select();
}

function renderHeaderCounts() {
  const counts = new Map();
  for (const scene of model.scenes) {
    const key = String(scene.storyline_id ?? NO_STORYLINE);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  for (const head of $("lane-headers").querySelectorAll(".lane-head")) {
    const count = head.querySelector(".lane-head__count");
    if (count) count.textContent = String(counts.get(head.dataset.lane) || 0);
  }
}

// --- Selection and playback --------------------------------------------------------------

function select(ids) {
  selection = ids;
  view.select(ids);
  renderSelection();
  if (ids[0]) details.show(ids[0], model);
  else details.clear();
}

function toggleSelected(id) {
  select(selection.includes(id) ? selection.filter((x) => x !== id) : [...selection, id]);
}

function selectScene(id, play = false) {
  const scene = model.scene(id);
  if (!scene) return;
  select([id]);
  view.reveal(scene.start);
  if (play) playFrom(scene.start);
  else seek(scene.start);
}

function renderSelection() {
  const count = selection.length;
  const first = model.scene(selection[0]);
  const unsure = first?.needs_review ? " \u00b7 storyline unsure, worth a review" : "";
  $("selection-label").textContent = count === 0 ? "" : count === 1 ? `Scene ${first.index + 1} selected${unsure}` : `${count} scenes selected`;
  const lanes = new Set(selection.map((id) => model.scene(id)?.storyline_id ?? null));
  $("split-button").disabled = !(count > 0 && lanes.size === 1 && !lanes.has(null));
  $("exclude-button").disabled = count === 0;
}

function whenReady(fn) {
  if (player.readyState >= HTMLMediaElement.HAVE_METADATA) fn();
  else player.addEventListener("loadedmetadata", fn, { once: true });
}

function seek(time) {
  whenReady(() => {
    player.currentTime = time;
  });
  tick(time);
}

function playFrom(time) {
  whenReady(() => {
    player.currentTime = time;
    player.play().catch(() => {
      /* autoplay refused: the player waits at the scene start */
    });
  });
  tick(time);
}

function tick(time = player.currentTime) {
  view.setTime(time, !player.paused);
  spoken.update(model.segmentAt(time), time);
  details.highlight(time);
  $("time-display").textContent = timecode(time);
}

let loop = 0;
function followPlayback() {
  tick();
  loop = player.paused ? 0 : requestAnimationFrame(followPlayback);
}

player.addEventListener("play", () => {
  $("play-button").textContent = "\u275a\u275a";
  $("play-button").setAttribute("aria-label", "Pause");
  if (!loop) loop = requestAnimationFrame(followPlayback);
});
player.addEventListener("pause", () => {
  $("play-button").textContent = "\u25b6";
  $("play-button").setAttribute("aria-label", "Play");
});
player.addEventListener("seeked", () => tick());

function playPause() {
  if (player.paused && transport.speed >= 0) player.play().catch(() => {});
  else transport.stop();
}

/** ↑/↓: the previous or next scene, from the playhead's scene when nothing is selected. */
function stepScene(direction) {
  const from = selection[0] || model.sceneAt(player.currentTime)?.id;
  const next = model.neighbour(from, direction);
  if (next) selectScene(next.id, !player.paused);
}

/** Scenes whose storyline the grouping is unsure of, least sure first (as `…/story/review`
 * lists them): the model has them from the timeline JSON, so an edit's reload updates them. */
function reviewList() {
  return model.scenes
    .filter((scene) => scene.needs_review)
    .sort((a, b) => a.confidence - b.confidence || a.index - b.index);
}

function renderReview() {
  const count = reviewList().length;
  const button = $("review-button");
  $("review-text").textContent = `Review ${count}`;
  button.disabled = count === 0;
  button.setAttribute("aria-label", count ? `Review ${count} scene${count === 1 ? "" : "s"} whose storyline is unsure: go to the next (R)` : "No scene to review");
}

/** R / Shift+R and the Review button: the next (previous) scene of the review list. */
function stepReview(direction) {
  const list = reviewList();
  if (!list.length) {
    toaster.show("No scene to review: every storyline placement looks sure.", { kind: "info" });
    return;
  }
  const at = list.findIndex((scene) => scene.id === selection[0]);
  const next = at < 0 ? (direction > 0 ? 0 : list.length - 1) : (at + direction + list.length) % list.length;
  selectScene(list[next].id, false);
}

function renderMarks({ in: start, out: end }) {
  const parts = [];
  if (start !== null) parts.push(`In ${timecode(start)}`);
  if (end !== null) parts.push(`Out ${timecode(end)}`);
  if (start !== null && end !== null) parts.push(`(${timecode(end - start)})`);
  $("marks-display").textContent = parts.join(" ");
}

/** The timeline's Undo takes back the latest cut edit or storyline correction; a cut edit's
 * undo re-runs its scenes, so the transcript and the cut panel follow. */
async function undo() {
  await editor.undo();
  await Promise.all([loadTranscript(), cutPanel.changed()]).catch(() => {});
}

/** Redo makes again what Undo took back last (a cut edit re-runs its scenes again). */
async function redo() {
  await editor.redo();
  await Promise.all([loadTranscript(), cutPanel.changed()]).catch(() => {});
}

function moveSelectionTo(number) {
  if (!selection.length) {
    toaster.show("Select a scene first (click it, or J / K).", { kind: "info" });
    return;
  }
  if (number === null) {
    editor.move(selection, null);
    return;
  }
  const storyline = model.storylines[number - 1];
  if (!storyline) toaster.show(`There is no storyline ${number}.`, { kind: "error" });
  else editor.move(selection, storyline.id);
}

// --- Toolbar -------------------------------------------------------------------------------

const ZOOM_STEPS = 1000;

function syncRanges() {
  const min = view.minPps();
  const max = 400;
  const zoom = Math.log(view.pps / min) / Math.log(max / min || 2);
  $("zoom-range").value = String(Math.round(Math.max(0, Math.min(1, zoom)) * ZOOM_STEPS));
  const room = Math.max(0, model.duration - view.visibleSeconds());
  $("scroll-range").value = room ? String(Math.round((view.start / room) * ZOOM_STEPS)) : "0";
  $("scroll-range").disabled = room === 0;
}

function bindToolbar() {
  $("play-button").addEventListener("click", playPause);
  $("zoom-in").addEventListener("click", () => view.zoom(1.5));
  $("zoom-out").addEventListener("click", () => view.zoom(1 / 1.5));
  $("zoom-fit").addEventListener("click", () => view.fit());
  $("zoom-range").addEventListener("input", (event) => {
    const min = view.minPps();
    const pps = min * (400 / min) ** (Number(event.target.value) / ZOOM_STEPS);
    view.zoom(pps / view.pps);
  });
  $("scroll-range").addEventListener("input", (event) => {
    const room = Math.max(0, model.duration - view.visibleSeconds());
    view.setView((room * Number(event.target.value)) / ZOOM_STEPS, view.pps);
  });
  $("review-button").addEventListener("click", () => stepReview(1));
  $("undo-button").addEventListener("click", () => undo());
  $("cut-button").addEventListener("click", () => cutPanel.addAtPlayhead());
  $("redo-button").addEventListener("click", () => redo());
  $("new-storyline").addEventListener("click", () => editor.create(`Storyline ${model.storylines.length + 1}`, selection));
  $("exclude-button").addEventListener("click", () => moveSelectionTo(null));
  $("split-button").addEventListener("click", () => {
    const storyline = model.storyline(model.scene(selection[0])?.storyline_id);
    if (storyline) editor.split(storyline.id, selection, `${storyline.name} (part 2)`);
  });
  const dialog = $("help-dialog");
  fillHelp($("help-list"));
  $("help-button").addEventListener("click", () => dialog.showModal());
  bindShortcuts({
    playPause,
    shuttle: (direction) => transport.shuttle(direction),
    stop: () => transport.stop(),
    stepTime: (unit, direction) => (unit ? transport.stepSeconds(direction) : transport.stepFrames(direction)),
    scene: stepScene,
    goTo: (time) => transport.goTo(time),
    mark: (which) => transport.mark(which),
    goToMark: (which) => transport.goToMark(which),
    clearMarks: () => transport.clearMarks(),
    moveTo: moveSelectionTo,
    review: stepReview,
    undo,
    redo,
    addCut: () => cutPanel.addAtPlayhead(),
    removeCut: () => cutPanel.removeNearest(),
    moveCut: () => cutPanel.moveNearest(),
    zoom: (factor) => view.zoom(factor),
    fit: () => view.fit(),
    help: () => (dialog.open ? dialog.close() : dialog.showModal()),
    escape: () => (dialog.open ? dialog.close() : select([])),
  });
}

// --- Live updates ----------------------------------------------------------------------------

const CONNECTION_TEXT = {
  connecting: "Connecting\u2026",
  live: "Live: changes from other windows appear here",
  reconnecting: "Connection lost, reconnecting\u2026",
  polling: "Live connection unavailable, checking every 5 s",
};

function connectLive() {
  const live = new LiveSocket({
    socketUrl: data.urls.socket,
    pollUrl: data.urls.analysis,
    toState: (body) => ({ type: "progress", status: body.status, progress: body.progress, message: body.message || "", eta_seconds: body.eta_seconds ?? null }),
    pollInterval: 5000,
  });
  let reloadTimer = 0;
  const reloadSoon = () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => reload().catch(() => {}), 150);
  };
  let wasLive = false;
  live.on("connection", (mode) => {
    const state = $("connection-state");
    state.dataset.state = mode;
    state.querySelector(".connection__text").textContent = CONNECTION_TEXT[mode] || mode;
    if (mode === "live" && wasLive) reloadSoon(); // back after a drop: catch up
    if (mode === "live") wasLive = true;
  });
  live.on("state", (state) => {
    cutPanel.progress(state);
    if (live.mode === "polling") reloadSoon();
  });
  const remoteToasts = new Map(); // edit id -> its toast, taken away when the edit is undone
  live.on("storyline.changed", (event) => {
    const id = event.edit?.id;
    if (event.step === "undo") editor.forget(`storyline-${id}`); // ours, undone elsewhere
    if (event.step === "undo" && remoteToasts.has(id)) {
      remoteToasts.get(id).remove();
      remoteToasts.delete(id);
    } else if (event.tab !== TAB_ID) {
      const who = event.edit?.user ? ` by ${event.edit.user}` : "";
      const what = event.step === "undo" ? "Undone" : event.step === "redo" ? "Redone" : "Changed";
      const toast = toaster.show(`${what} in another window${who}: ${event.edit?.summary || event.step}`, { kind: "info", ms: 10000 });
      if (event.step !== "undo" && id !== undefined) remoteToasts.set(id, toast);
    }
    reloadSoon();
  });
  live.on("cuts.changed", (event) => {
    const id = `cut-${event.edit?.id}`;
    if (event.step === "undo") editor.forget(id); // ours, undone elsewhere
    if (event.step === "undo" && remoteToasts.has(id)) {
      remoteToasts.get(id).remove();
      remoteToasts.delete(id);
    } else if (event.tab !== TAB_ID) {
      const who = event.edit?.user ? ` by ${event.edit.user}` : "";
      const what = event.step === "undo" ? "Undone" : event.step === "redo" ? "Redone" : "Changed";
      const toast = toaster.show(`${what} in another window${who}: ${event.edit?.summary || "cuts"}`, { kind: "info", ms: 10000 });
      if (event.step !== "undo") remoteToasts.set(id, toast);
    }
    reloadSoon();
    loadTranscript().catch(() => {});
    cutPanel.changed().catch(() => {});
    exportsPanel.refreshJobs().catch(() => {});
  });
  live.on("export.progress", (job) => exportsPanel.fromEvent(job));
  window.addEventListener("pagehide", () => live.destroy(), { once: true });
  live.start();
}

// --- Panels ----------------------------------------------------------------------------------

const bench = $("workbench");
const splitters = {};

/** Give the workbench the rest of the window below its top (desktop layout only). */
function fitWorkbench() {
  if (getComputedStyle(bench).display !== "grid") {
    bench.style.removeProperty("--tl-avail");
    return 0;
  }
  const top = bench.getBoundingClientRect().top + window.scrollY;
  const avail = Math.max(460, Math.floor(window.innerHeight - top - 12));
  bench.style.setProperty("--tl-avail", `${avail}px`);
  return avail;
}

/** The timeline's height with every lane showing: the top panel gets what is left. */
function naturalTimelineHeight() {
  const section = bench.querySelector(".tl-timeline");
  const style = getComputedStyle(section);
  const frame = ["paddingTop", "paddingBottom", "borderTopWidth", "borderBottomWidth"].reduce((sum, key) => sum + parseFloat(style[key]), 0);
  const scroll = $("scroll-range");
  const toolbar = section.querySelector(".tl-toolbar").offsetHeight;
  return frame + toolbar + view.height + 2 + scroll.offsetHeight + parseFloat(getComputedStyle(scroll).marginTop);
}

/** Header width at which the longest storyline name shows whole. */
function headersWidthForNames() {
  let missing = 0;
  for (const name of document.querySelectorAll(".lane-head__name")) missing = Math.max(missing, name.scrollWidth - name.clientWidth);
  return $("lane-headers").clientWidth + missing + (missing ? 6 : 0);
}

function bindPanels() {
  const avail = fitWorkbench();
  splitters.heads = new Splitter({
    handle: $("split-heads"), root: bench, property: "--tl-heads-w", initial: Math.min(420, headersWidthForNames()), min: 110, max: 480, storageKey: "tl.heads",
  });
  splitters.details = new Splitter({
    handle: $("split-details"), root: bench, property: "--tl-details-w", initial: 380, min: 240, invert: true,
    max: () => Math.max(240, $("tl-top").clientWidth - 330), storageKey: "tl.details",
  });
  splitters.top = new Splitter({
    handle: $("split-timeline"), root: bench, property: "--tl-top-h", axis: "y", min: 160,
    initial: Math.max(220, avail - naturalTimelineHeight() - 10), max: () => Math.max(160, bench.clientHeight - 150), storageKey: "tl.top",
  });
  window.addEventListener("resize", () => {
    fitWorkbench();
    for (const splitter of Object.values(splitters)) splitter.refit();
  });
}

// --- Start -----------------------------------------------------------------------------------

async function start() {
  bindToolbar();
  const began = performance.now();
  try {
    await Promise.all([reload(), loadTranscript()]);
  } catch (error) {
    toaster.show(`The timeline could not load: ${error.message}`, { kind: "error", ms: 60000 });
    return;
  }
  bindPanels();
  view.draw(); // the first frame now, not at the next animation frame
  performance.mark("timeline-drawn");
  document.body.dataset.timeline = "ready";
  document.body.dataset.timelineLoadMs = String(Math.round(performance.now() - began));
  tick(0);
  loadWaveform().catch(() => {});
  exportsPanel.load().catch(() => {});
  cutPanel.load().catch(() => {});
  connectLive();
}

// For tests and benchmarks: where things are drawn, and the view's frame statistics.
window.timelineDebug = {
  view,
  model,
  transport,
  splitters,
  sceneRect(id) {
    const rect = view.sceneRect(id);
    if (!rect) return null;
    const box = view.canvas.getBoundingClientRect();
    return { x: box.left + rect.x, y: box.top + rect.y, width: rect.width, height: rect.height };
  },
  laneCenterY(index) {
    const row = view.laneRow(index);
    return view.canvas.getBoundingClientRect().top + row.y + row.h / 2;
  },
};

start();
