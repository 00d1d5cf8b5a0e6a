// The audio-description page: list the descriptions, and speak each one in its pause while the
// video plays (the WebVTT track of kind "descriptions" drives the timing; the browser's
// speechSynthesis does the speaking).

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("describe-data").textContent);
const FINAL = new Set(["PROCESSED", "NOT_PROCESSED"]);
const POLL_MS = 2000;

const ui = {
  player: $("describe-player"),
  track: $("describe-track"),
  now: $("describe-now"),
  status: $("describe-status"),
  message: $("describe-message"),
  error: $("describe-error"),
  speak: $("describe-speak"),
  hold: $("describe-hold"),
  noSpeech: $("describe-no-speech"),
  list: $("describe-list"),
  count: $("describe-count"),
  empty: $("describe-empty"),
};
const synth = "speechSynthesis" in window ? window.speechSynthesis : null;
let job = data;

function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const m = String(Math.floor(total / 60)).padStart(2, "0");
  const s = String(total % 60).padStart(2, "0");
  return `${m}:${s}`;
}

export function speak(text, { onEnd } = {}) {
  if (!synth) {
    onEnd?.();
    return;
  }
  synth.cancel(); // a description never talks over the previous one
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = job.language || document.documentElement.lang || "en";
  utterance.onend = () => onEnd?.();
  utterance.onerror = () => onEnd?.();
  synth.speak(utterance);
}

function announce(text) {
  ui.now.textContent = text;
  if (!ui.speak.checked) return;
  const resume = ui.hold.checked && !ui.player.paused;
  if (resume) ui.player.pause();
  speak(text, { onEnd: () => resume && ui.player.play() });
}

function renderList() {
  ui.list.replaceChildren(
    ...job.results.map((result) => {
      const item = document.createElement("li");
      item.className = "describe-list__item";
      item.dataset.testid = "describe-item";
      const time = document.createElement("button");
      time.type = "button";
      time.className = "link-button num";
      time.textContent = `${clock(result.timestamp)}–${clock(result.end)}`;
      time.title = "Play from here and speak this description";
      time.addEventListener("click", () => {
        ui.player.currentTime = result.timestamp;
        announce(result.text);
      });
      const text = document.createElement("span");
      text.textContent = ` ${result.text}`;
      item.append(time, text);
      return item;
    }),
  );
  ui.count.textContent = String(job.results.length);
  ui.empty.hidden = job.results.length > 0;
}

function renderStatus() {
  ui.status.textContent = job.status.replace("_", " ").toLowerCase();
  ui.message.textContent = FINAL.has(job.status) ? "" : `${Math.round(job.progress * 100)} % · ${job.message}`;
  ui.error.hidden = !job.error;
  ui.error.textContent = job.error || "";
}

function watchTrack() {
  const track = ui.track.track;
  track.mode = "hidden"; // cues fire events without being drawn over the picture
  track.addEventListener("cuechange", () => {
    const cue = track.activeCues && track.activeCues[0];
    // The cue's text without its <lang> span and with &amp; resolved, as a reader would say it.
    if (cue) announce(cue.getCueAsHTML().textContent);
  });
}

function reloadTrack() {
  // A new <track> element makes the browser fetch the finished WebVTT file again.
  const fresh = ui.track.cloneNode();
  fresh.src = `${ui.track.getAttribute("src").split("?")[0]}?v=${Date.now()}`;
  ui.track.replaceWith(fresh);
  ui.track = fresh;
  watchTrack();
}

async function poll() {
  const response = await fetch(`/process/${job.id}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const before = job.results.length;
  job = await response.json();
  renderStatus();
  if (job.results.length !== before) {
    renderList();
    reloadTrack();
  }
  if (!FINAL.has(job.status)) setTimeout(poll, POLL_MS);
}

ui.noSpeech.hidden = Boolean(synth);
ui.speak.disabled = !synth;
ui.player.addEventListener("pause", () => synth && !ui.hold.checked && synth.cancel());
renderList();
renderStatus();
watchTrack();
if (!FINAL.has(job.status)) setTimeout(poll, POLL_MS);
