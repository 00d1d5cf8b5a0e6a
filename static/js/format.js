// Display formats shared by the pages.

const pad = (value, width = 2) => String(value).padStart(width, "0");

/** Seconds as `mm:ss.s` (`h:mm:ss.s` past an hour): scene boundaries, to a tenth of a second. */
export function timecode(seconds) {
  const tenths = Math.max(0, Math.round((Number(seconds) || 0) * 10));
  const hours = Math.floor(tenths / 36000);
  const minutes = Math.floor((tenths % 36000) / 600);
  const secs = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return hours ? `${hours}:${pad(minutes)}:${secs}` : `${pad(minutes)}:${secs}`;
}

/** Whole seconds as `m:ss` or `h:mm:ss`: a video's length. */
export function clock(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = pad(total % 60);
  return hours ? `${hours}:${pad(minutes)}:${secs}` : `${minutes}:${secs}`;
}

/** "about 3 min left" from the server's estimate of a running analysis or re-run (none until a
 * tenth of the work is done, nor when a stage was never timed on this installation: then
 * nothing is said). */
export function timeLeft(state) {
  const eta = state.status === "running" ? state.eta_seconds : null;
  if (eta === null || eta === undefined) return state.status === "running" && (state.progress || 0) < 0.1 ? "estimating the time left\u2026" : "";
  if (eta < 45) return "less than a minute left";
  const minutes = Math.round(eta / 60);
  return minutes < 90 ? `about ${minutes} min left` : `about ${Math.round(eta / 360) / 10} h left`;
}

/** A short duration such as `1.4 s` or `2 min 05 s`. */
export function shortDuration(seconds) {
  const value = Math.max(0, Number(seconds) || 0);
  if (value < 60) return `${value.toFixed(1)} s`;
  return `${Math.floor(value / 60)} min ${pad(Math.round(value % 60))} s`;
}

const UNITS = ["bytes", "KB", "MB", "GB", "TB"];

/** Bytes in binary units, like Django's `filesizeformat`. */
export function fileSize(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** A 0..1 fraction as a whole percentage number. */
export function percent(fraction) {
  return Math.round(Math.min(1, Math.max(0, Number(fraction) || 0)) * 100);
}

export const STATUS_LABELS = {
  queued: "Queued",
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  none: "Not analysed",
};

export const ACTIVE_STATUSES = new Set(["queued", "running"]);
export const FINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);
