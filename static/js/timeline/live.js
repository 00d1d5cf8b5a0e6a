// The analysis's WebSocket kept open after the analysis finished: it carries storyline changes
// made in other tabs ("storyline.changed") and export progress ("export.progress").
// Reconnection, backoff and the polling fallback come from ProgressSocket.

import { ProgressSocket } from "../progress-socket.js";

export class LiveSocket extends ProgressSocket {
  onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    this.failures = 0;
    this.stopPolling();
    this.setMode("live");
    if (message.type === "progress") this.emit("state", message);
    else this.emit(message.type, message);
  }

  /** Unlike the progress page, a final analysis status does not end the connection here. */
  deliver(state) {
    if (!this.destroyed) this.emit("state", state);
  }
}
