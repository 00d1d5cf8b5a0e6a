// The library page: drag-and-drop upload with progress, starting analyses, deleting videos,
// and live status badges while analyses run.

import { ApiError, apiFetch, pageData, uploadFile, urlFor } from "./api.js";
import { ACTIVE_STATUSES, STATUS_LABELS, clock, fileSize, percent } from "./format.js";

const data = pageData("library-data");
const $ = (id) => document.getElementById(id);
const STATUS_POLL_MS = 3000;

const ui = {
  dropzone: $("dropzone"),
  input: $("upload-input"),
  storylines: $("upload-storylines"),
  autostart: $("upload-autostart"),
  status: $("upload-status"),
  name: $("upload-name"),
  text: $("upload-text"),
  abort: $("upload-abort"),
  progress: $("upload-progress"),
  error: $("upload-error"),
  rows: $("video-rows"),
  table: document.querySelector('[data-testid="video-table"]'),
  empty: $("library-empty"),
  count: $("video-count"),
  notice: $("library-notice"),
  rowTemplate: $("video-row-template"),
};

let activeUpload = null;
let pollTimer = null;

// --- Messages ------------------------------------------------------------------------------

function showUploadError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

function notify(message) {
  ui.notice.textContent = message;
}

function messageOf(error) {
  return error instanceof ApiError ? error.message : `Something went wrong: ${error}`;
}

// --- Upload --------------------------------------------------------------------------------

function setUploadProgress(fraction, text) {
  const value = percent(fraction);
  ui.progress.setAttribute("aria-valuenow", String(value));
  ui.progress.style.setProperty("--value", `${value}%`);
  ui.text.textContent = text;
}

function storylinesValue(input) {
  const raw = input.value.trim();
  return raw === "" ? null : Number.parseInt(raw, 10);
}

function checkFile(file) {
  if (!file) return "No file was selected.";
  if (file.size === 0) return `"${file.name}" is empty.`;
  if (file.size > data.max_upload_bytes) {
    return `"${file.name}" is ${fileSize(file.size)}; the limit is ${fileSize(data.max_upload_bytes)}.`;
  }
  return "";
}

async function handleFiles(files) {
  if (activeUpload) {
    showUploadError("An upload is already running. Wait for it to finish or cancel it.");
    return;
  }
  if (files.length > 1) {
    showUploadError("Drop one video at a time.");
    return;
  }
  const file = files[0];
  const problem = checkFile(file);
  if (problem) {
    showUploadError(problem);
    return;
  }
  if (!ui.storylines.reportValidity()) return;
  showUploadError("");
  await upload(file, { autostart: ui.autostart.checked, storylines: storylinesValue(ui.storylines) });
}

async function upload(file, { autostart, storylines }) {
  ui.status.hidden = false;
  ui.abort.hidden = false;
  ui.dropzone.classList.add("is-busy");
  ui.name.textContent = file.name;
  setUploadProgress(0, "Starting upload…");
  activeUpload = uploadFile(data.urls.videos, file, {
    onProgress: (loaded, total) =>
      setUploadProgress(loaded / total, `${percent(loaded / total)} % · ${fileSize(loaded)} of ${fileSize(total)}`),
    onSent: () => {
      ui.abort.hidden = true;
      setUploadProgress(1, "Checking the video…");
    },
  });
  try {
    const video = await activeUpload.promise;
    if (autostart) {
      setUploadProgress(1, "Starting the analysis…");
      const analysis = await startAnalysis(video.id, storylines);
      window.location.assign(urlFor(data.urls.analysis_page, analysis.id));
      return;
    }
    upsertRow(video);
    notify(`“${video.original_name}” was uploaded.`);
    ui.status.hidden = true;
  } catch (error) {
    ui.status.hidden = true;
    if (!error?.body?.aborted) showUploadError(messageOf(error));
  } finally {
    activeUpload = null;
    ui.dropzone.classList.remove("is-busy");
    ui.input.value = "";
  }
}

function startAnalysis(videoId, storylines) {
  return apiFetch(urlFor(data.urls.video_analyses, videoId), {
    method: "POST",
    json: { num_storylines: storylines },
  });
}

function wireDropzone() {
  const zone = ui.dropzone;
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("is-over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    handleFiles([...(event.dataTransfer?.files || [])]);
  });
  // A file dropped beside the zone must not replace the page with the video.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  // The whole zone opens the file picker; its "choose a file" button makes that keyboard-reachable.
  zone.addEventListener("click", (event) => {
    if (event.target !== ui.input && !activeUpload) ui.input.click();
  });
  ui.input.addEventListener("change", () => handleFiles([...ui.input.files]));
  ui.abort.addEventListener("click", () => activeUpload?.abort());
  window.addEventListener("beforeunload", (event) => {
    if (activeUpload) event.preventDefault();
  });
}

// --- Rows ----------------------------------------------------------------------------------

function rowFor(videoId) {
  return ui.rows.querySelector(`tr[data-video-id="${CSS.escape(videoId)}"]`);
}

function statusText(analysis) {
  if (!analysis) return STATUS_LABELS.none;
  const label = STATUS_LABELS[analysis.status] || analysis.status;
  return ACTIVE_STATUSES.has(analysis.status) && analysis.progress > 0
    ? `${label} · ${percent(analysis.progress)} %`
    : label;
}

function renderStatus(row, analysis) {
  const badge = row.querySelector('[data-field="status"]');
  badge.className = `badge badge--${analysis ? analysis.status : "none"}`;
  badge.textContent = statusText(analysis);
  const open = row.querySelector('[data-field="open"]');
  open.hidden = !analysis;
  if (analysis) open.href = urlFor(data.urls.analysis_page, analysis.id);
  row.dataset.status = analysis ? analysis.status : "none";
}

/** Add a row for an uploaded video (or refresh it when the same file was uploaded before). */
function upsertRow(video) {
  let row = rowFor(video.id);
  if (!row) {
    row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
    const inputId = `storylines-${video.id}`;
    row.querySelector("input[name=num_storylines]").id = inputId;
    row.querySelector(".analyse-form label").htmlFor = inputId;
    ui.rows.prepend(row);
  }
  row.dataset.videoId = video.id;
  row.dataset.videoName = video.original_name;
  row.querySelector('[data-field="name"]').textContent = video.original_name;
  row.querySelector('[data-field="link"]').href = urlFor(data.urls.video_page, video.id);
  row.querySelector('[data-field="meta"]').textContent =
    `${video.width}×${video.height} · ${Number(video.fps.toFixed(2))} fps${video.has_audio ? " · audio" : ""}`;
  row.querySelector('[data-field="duration"]').textContent = clock(video.duration);
  if (video.size_bytes != null) row.querySelector('[data-field="size"]').textContent = fileSize(video.size_bytes);
  row.querySelector("[data-action=delete]").setAttribute("aria-label", `Delete ${video.original_name}`);
  renderStatus(row, video.latest_analysis);
  updateCount();
  return row;
}

function updateCount() {
  const count = ui.rows.querySelectorAll("tr[data-video-id]").length;
  ui.count.textContent = String(count);
  ui.table.hidden = count === 0;
  ui.empty.hidden = count > 0;
}

async function onAnalyse(form) {
  const row = form.closest("tr");
  const input = form.querySelector("input[name=num_storylines]");
  if (!input.reportValidity()) return;
  const button = form.querySelector("button");
  button.disabled = true;
  button.textContent = "Starting…";
  try {
    const analysis = await startAnalysis(row.dataset.videoId, storylinesValue(input));
    window.location.assign(urlFor(data.urls.analysis_page, analysis.id));
  } catch (error) {
    notify(`Could not start the analysis of “${row.dataset.videoName}”: ${messageOf(error)}`);
    button.disabled = false;
    button.textContent = "Analyse";
  }
}

async function onDelete(button) {
  const row = button.closest("tr");
  const name = row.dataset.videoName;
  if (!window.confirm(`Delete “${name}” with all its analyses? This cannot be undone.`)) return;
  button.disabled = true;
  try {
    await apiFetch(urlFor(data.urls.video, row.dataset.videoId), { method: "DELETE" });
    row.remove();
    updateCount();
    notify(`“${name}” was deleted.`);
  } catch (error) {
    button.disabled = false;
    notify(`Could not delete “${name}”: ${messageOf(error)}`);
  }
}

function wireRows() {
  ui.rows.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-action=analyse]");
    if (!form) return;
    event.preventDefault();
    onAnalyse(form);
  });
  ui.rows.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action=delete]");
    if (button) onDelete(button);
    const describe = event.target.closest("[data-action=describe]");
    if (describe) openDescribe(describe);
  });
}

// --- Audio description ------------------------------------------------------------------------

const describeDialog = $("describe-dialog");
let describedVideo = null;

function openDescribe(button) {
  const row = button.closest("tr");
  describedVideo = row.dataset.videoId;
  $("describe-video-name").textContent = row.dataset.videoName;
  const subtitles = $("describe-pauses").querySelector("option[value=subtitles]");
  subtitles.disabled = button.dataset.hasSubtitles !== "true";
  if (subtitles.disabled) $("describe-pauses").value = "speech";
  $("describe-form-error").hidden = true;
  describeDialog.showModal();
}

async function startDescribe(event) {
  if (event.submitter?.value !== "start") return; // Cancel closes the dialog
  event.preventDefault();
  const form = event.target;
  const start = form.querySelector("[value=start]");
  start.disabled = true;
  try {
    const job = await apiFetch(urlFor(data.urls.describe, describedVideo), {
      method: "POST",
      json: { language: form.elements.language.value, pauses: form.elements.pauses.value },
    });
    window.location.assign(job.page_url);
  } catch (error) {
    $("describe-form-error").textContent = messageOf(error);
    $("describe-form-error").hidden = false;
    start.disabled = false;
  }
}

$("describe-form").addEventListener("submit", startDescribe);

// --- Live statuses ---------------------------------------------------------------------------

function anyActive() {
  return [...ui.rows.querySelectorAll("[data-field=status]")].some((badge) =>
    [...ACTIVE_STATUSES].some((status) => badge.classList.contains(`badge--${status}`)),
  );
}

async function refreshStatuses() {
  pollTimer = null;
  if (document.hidden) {
    schedulePoll();
    return;
  }
  try {
    const videos = await apiFetch(data.urls.videos);
    for (const video of videos || []) {
      const row = rowFor(video.id);
      if (row) renderStatus(row, video.latest_analysis);
    }
  } catch {
    /* a missed refresh is retried on the next tick */
  }
  schedulePoll();
}

function schedulePoll() {
  if (pollTimer === null && anyActive()) pollTimer = setTimeout(refreshStatuses, STATUS_POLL_MS);
}

wireDropzone();
wireRows();
schedulePoll();
