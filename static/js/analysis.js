// The analysis page: live progress over the WebSocket, cancel / re-run, and the scene cards.

import { ApiError, apiFetch, pageData, urlFor } from "./api.js";
import { ACTIVE_STATUSES, STATUS_LABELS, percent, shortDuration, timeLeft, timecode } from "./format.js";
import { InsightsPanel } from "./insights.js";
import { ProgressSocket } from "./progress-socket.js";

const data = pageData("analysis-data");
const $ = (id) => document.getElementById(id);

const ui = {
  panel: $("status-panel"),
  badge: $("status-badge"),
  label: $("progress-label"),
  percent: $("progress-percent"),
  eta: $("progress-eta"),
  bar: $("progress-bar"),
  message: $("progress-message"),
  error: $("analysis-error"),
  cancel: $("cancel-button"),
  rerunForm: $("rerun-form"),
  rerunButton: $("rerun-button"),
  rerunStorylines: $("rerun-storylines"),
  connection: $("connection-state"),
  steps: $("step-list"),
  resultLink: $("result-link"),
  timelineLink: $("timeline-link"),
  player: $("player"),
  playerNow: $("player-now"),
  sceneList: $("scene-list"),
  sceneCount: $("scene-count"),
  scenesEmpty: $("scenes-empty"),
  scenesEmptyText: $("scenes-empty-text"),
  legend: $("storyline-legend"),
  cardTemplate: $("scene-card-template"),
};

let current = { ...data.state };
let live = null; // the ProgressSocket while the analysis runs
let resultsRequested = false;
let scenes = [];

// --- Progress ------------------------------------------------------------------------------

/** The REST analysis body in the shape the socket sends. */
function stateFromApi(body) {
  return {
    type: "progress",
    status: body.status,
    stage: body.current_stage || "",
    stage_label: data.stage_labels[body.current_stage] || "",
    progress: body.progress,
    message: body.message || "",
    error: body.error || "",
    eta_seconds: body.eta_seconds ?? null,
  };
}

function headline(state) {
  switch (state.status) {
    case "queued":
      return "Waiting for a worker…";
    case "running":
      return state.stage_label || data.stage_labels[state.stage] || "Analysing…";
    case "completed":
      return "Analysis complete";
    case "failed":
      return state.stage_label ? `Failed during: ${state.stage_label}` : "The analysis failed";
    case "cancelled":
      return "Analysis cancelled";
    default:
      return STATUS_LABELS[state.status] || state.status;
  }
}

function renderState(state) {
  current = { ...current, ...state };
  const { status } = current;
  const value = status === "completed" ? 100 : percent(current.progress);
  ui.panel.dataset.status = status;
  ui.panel.className = `card status-panel status-panel--${status}`;
  ui.badge.className = `badge badge--${status}`;
  ui.badge.textContent = STATUS_LABELS[status] || status;
  setText(ui.label, headline(current));
  ui.percent.textContent = `${value} %`;
  setText(ui.eta, timeLeft(current));
  ui.bar.setAttribute("aria-valuenow", String(value));
  ui.bar.setAttribute("aria-valuetext", `${value} percent, ${headline(current)}`);
  ui.bar.style.setProperty("--value", `${value}%`);
  setText(ui.message, detailMessage(current));
  renderSteps(current);
  ui.error.hidden = !(status === "failed" && (current.error || current.message));
  setText(ui.error, current.error || current.message || "");
  const active = ACTIVE_STATUSES.has(status);
  ui.cancel.hidden = !active;
  ui.rerunForm.hidden = active;
  ui.resultLink.hidden = status !== "completed";
  ui.timelineLink.hidden = status !== "completed";
  if (status === "completed") loadResults();
  else if (!resultsRequested) showScenesPlaceholder(status);
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** The worker's message when it says more than the headline (e.g. "Transcribing 0:40 of 3:10"). */
function detailMessage(state) {
  const message = (state.message || "").trim();
  if (state.status === "failed") return ""; // the error box shows it
  const same = message.toLowerCase() === headline(state).replace(/…$/, "").toLowerCase();
  return same || message.toLowerCase() === (state.stage_label || "").toLowerCase() ? "" : message;
}

const STEP_STATE_TEXT = { done: "done", current: "in progress", failed: "stopped here", pending: "" };

function renderSteps(state) {
  const items = [...ui.steps.children];
  const at = items.findIndex((item) => item.dataset.step === state.stage);
  items.forEach((item, index) => {
    let step = "pending";
    if (state.status === "completed") step = "done";
    else if (at >= 0 && index < at) step = "done";
    else if (index === at && state.status === "running") step = "current";
    else if (index === at && (state.status === "failed" || state.status === "cancelled")) step = "failed";
    item.className = `step step--${step}`;
    item.querySelector(".step__state").textContent = STEP_STATE_TEXT[step] ? `, ${STEP_STATE_TEXT[step]}` : "";
    if (step === "current") item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  });
}

function showScenesPlaceholder(status) {
  const texts = {
    failed: "No scenes: the analysis failed. Re-run it, or upload the file again if it is damaged.",
    cancelled: "No scenes: the analysis was cancelled. Re-run it to see the scenes.",
  };
  ui.scenesEmptyText.textContent =
    texts[status] || "Scenes appear here when the analysis is complete.";
}

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live updates",
  reconnecting: "Connection lost, reconnecting…",
  polling: "Live connection unavailable, checking every 2 s",
  closed: "Finished",
};

function renderConnection(mode) {
  ui.connection.dataset.state = mode;
  ui.connection.querySelector(".connection__text").textContent = CONNECTION_TEXT[mode] || mode;
}

// --- Actions -------------------------------------------------------------------------------

async function cancelAnalysis() {
  ui.cancel.disabled = true;
  ui.cancel.textContent = "Cancelling…";
  try {
    const state = stateFromApi(await apiFetch(data.urls.cancel, { method: "POST" }));
    if (live) live.deliver(state); // also ends the live connection once the state is final
    else renderState(state);
  } catch (error) {
    showActionError(error);
  } finally {
    ui.cancel.disabled = false;
    ui.cancel.textContent = "Cancel analysis";
  }
}

function requestedStorylines() {
  const raw = ui.rerunStorylines.value.trim();
  return raw === "" ? null : Number.parseInt(raw, 10);
}

async function rerunAnalysis(event) {
  event.preventDefault();
  if (!ui.rerunForm.reportValidity()) return;
  ui.rerunButton.disabled = true;
  ui.rerunButton.textContent = "Starting…";
  const wanted = requestedStorylines();
  try {
    // Same settings: the rerun endpoint; other settings: a new analysis of the video.
    const fresh =
      wanted === data.num_storylines
        ? await apiFetch(data.urls.rerun, { method: "POST" })
        : await apiFetch(data.urls.new_analysis, { method: "POST", json: { num_storylines: wanted } });
    window.location.assign(urlFor(data.urls.analysis_page, fresh.id));
  } catch (error) {
    showActionError(error);
    ui.rerunButton.disabled = false;
    ui.rerunButton.textContent = "Re-run analysis";
  }
}

function showActionError(error) {
  ui.error.hidden = false;
  ui.error.textContent = error instanceof ApiError ? error.message : String(error);
}

// --- Scenes --------------------------------------------------------------------------------

async function loadResults() {
  if (resultsRequested) return;
  resultsRequested = true;
  ui.scenesEmptyText.textContent = "Loading scenes…";
  try {
    const [sceneRows, storylines] = await Promise.all([
      apiFetch(data.urls.scenes),
      apiFetch(data.urls.storylines),
    ]);
    renderResults(sceneRows || [], storylines || []);
  } catch (error) {
    resultsRequested = false;
    ui.scenesEmptyText.textContent = `The scenes could not be loaded: ${error.message}`;
  }
}

function renderResults(sceneRows, storylines) {
  const byId = new Map(storylines.map((storyline) => [storyline.id, storyline]));
  scenes = sceneRows;
  renderLegend(storylines);
  ui.sceneList.replaceChildren(...sceneRows.map((scene) => sceneCard(scene, byId)));
  ui.sceneList.hidden = sceneRows.length === 0;
  ui.scenesEmpty.hidden = sceneRows.length > 0;
  ui.scenesEmptyText.textContent = "The analysis found no scenes in this video.";
  ui.sceneCount.hidden = false;
  ui.sceneCount.textContent = String(sceneRows.length);
  highlightScene(ui.player.currentTime);
  if (sceneRows.length && data.urls.insights) loadInsights();
}

// --- Insights and the filters they make ------------------------------------------------------

let insights = null;

async function loadInsights() {
  if (insights) return;
  insights = new InsightsPanel({
    root: document.getElementById("insights"),
    sceneStart: (index) => scenes.find((scene) => scene.index === index)?.start_time ?? 0,
    onSeek: playFrom,
  });
  insights.on("filter", filterScenes);
  document.getElementById("filter-clear").addEventListener("click", () => insights.clear());
  try {
    insights.render(await apiFetch(data.urls.insights));
  } catch {
    insights.root.hidden = true; // the scenes still work without their insights
  }
}

/** Show only the scene cards whose index is in `indices` (all of them for null). */
function filterScenes(indices) {
  let shown = 0;
  for (const item of ui.sceneList.children) {
    const visible = indices === null || indices.has(Number(item.dataset.index));
    item.hidden = !visible;
    if (visible) shown += 1;
  }
  const status = document.getElementById("filter-status");
  status.hidden = indices === null;
  document.getElementById("filter-text").textContent =
    indices === null ? "" : `${shown} of ${scenes.length} scenes with ${insights.labels().join(" and ")}`;
}

function renderLegend(storylines) {
  ui.legend.replaceChildren(
    ...storylines.map((storyline) => {
      const item = document.createElement("li");
      item.className = "chip";
      item.dataset.testid = "storyline-chip";
      item.style.setProperty("--chip", storyline.color);
      item.title = storyline.description || storyline.name;
      const count = storyline.scene_ids?.length ?? 0;
      item.innerHTML = '<span class="chip__dot" aria-hidden="true"></span><span class="chip__text"></span>';
      item.querySelector(".chip__text").textContent =
        `${storyline.name} · ${count} scene${count === 1 ? "" : "s"} · ${shortDuration(storyline.duration)}`;
      return item;
    }),
  );
  ui.legend.hidden = storylines.length === 0;
}

function sceneCard(scene, storylinesById) {
  const item = ui.cardTemplate.content.firstElementChild.cloneNode(true);
  const card = item.querySelector(".scene-card");
  const field = (name) => card.querySelector(`[data-field="${name}"]`);
  const number = scene.index + 1;
  const times = `${timecode(scene.start_time)} – ${timecode(scene.end_time)}`;
  item.dataset.index = String(scene.index);
  card.dataset.sceneId = scene.id;
  card.dataset.start = String(scene.start_time);
  card.dataset.end = String(scene.end_time);
  field("index").textContent = `#${number}`;
  field("duration").textContent = shortDuration(scene.duration);
  field("times").textContent = times;
  const thumb = field("thumb");
  const image = scene.thumbnail_url || scene.keyframe_url;
  if (image) thumb.src = image;
  else thumb.remove();
  const transcript = (scene.transcript || "").trim();
  field("transcript").textContent = transcript || "No speech";
  field("transcript").classList.toggle("is-empty", !transcript);
  const storyline = storylinesById.get(scene.storyline_id);
  if (storyline) {
    const chip = field("storyline");
    chip.hidden = false;
    chip.style.setProperty("--chip", storyline.color);
    chip.querySelector(".chip__text").textContent = storyline.name;
    card.style.setProperty("--storyline", storyline.color);
  }
  const story = storyline ? `, storyline ${storyline.name}` : "";
  card.setAttribute("aria-label", `Play scene ${number}, ${times}${story}`);
  card.addEventListener("click", () => playFrom(scene.start_time));
  return item;
}

function playFrom(seconds) {
  const player = ui.player;
  const seek = () => {
    player.currentTime = seconds;
    player.play().catch(() => {
      /* autoplay refused: the player stays at the scene start */
    });
  };
  if (player.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
  else player.addEventListener("loadedmetadata", seek, { once: true });
  player.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function highlightScene(time) {
  let active = null;
  for (const card of ui.sceneList.querySelectorAll(".scene-card")) {
    const inside = time >= Number(card.dataset.start) && time < Number(card.dataset.end);
    card.classList.toggle("is-playing", inside);
    if (inside) {
      card.setAttribute("aria-current", "true");
      active = card;
    } else card.removeAttribute("aria-current");
  }
  const scene = active ? scenes.find((item) => item.id === active.dataset.sceneId) : null;
  ui.playerNow.textContent = scene
    ? `Scene ${scene.index + 1} · ${timecode(time)}`
    : scenes.length
      ? timecode(time)
      : "";
}

// --- Start ---------------------------------------------------------------------------------

function start() {
  renderState(current);
  ui.cancel.addEventListener("click", cancelAnalysis);
  ui.rerunForm.addEventListener("submit", rerunAnalysis);
  ui.player.addEventListener("timeupdate", () => highlightScene(ui.player.currentTime));
  ui.player.addEventListener("seeked", () => highlightScene(ui.player.currentTime));
  if (!ACTIVE_STATUSES.has(current.status)) {
    renderConnection("closed");
    return;
  }
  live = new ProgressSocket({
    socketUrl: data.urls.socket,
    pollUrl: data.urls.analysis,
    toState: stateFromApi,
  });
  live.on("state", renderState);
  live.on("connection", renderConnection);
  live.on("error", showActionError);
  window.addEventListener("pagehide", () => live.destroy(), { once: true });
  // Back from the back/forward cache the connection is gone: load the current state afresh.
  window.addEventListener("pageshow", (event) => event.persisted && window.location.reload());
  live.start();
}

start();
