// Live progress of one analysis: a WebSocket that reconnects with backoff, and polling of the
// REST API while the socket is down. Listeners get one normalised state shape from both.
//
//   const live = new ProgressSocket({ socketUrl, pollUrl, toState });
//   const off = live.on("state", (state) => …);   // {status, stage, stage_label, progress, message, error}
//   live.on("connection", (mode) => …);           // "connecting" | "live" | "reconnecting" | "polling" | "closed"
//   live.start(); … off(); live.destroy();

import { apiFetch } from "./api.js";
import { FINAL_STATUSES } from "./format.js";

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const POLL_AFTER_FAILURES = 2; // poll while the socket keeps failing
const POLL_INTERVAL_MS = 2000;

function absoluteSocketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export class ProgressSocket {
  /**
   * @param {{socketUrl: string, pollUrl: string, toState: (apiBody: object) => object,
   *          pollInterval?: number, maxDelay?: number}} options
   */
  constructor({ socketUrl, pollUrl, toState, pollInterval = POLL_INTERVAL_MS, maxDelay = MAX_DELAY_MS }) {
    this.socketUrl = absoluteSocketUrl(socketUrl);
    this.pollUrl = pollUrl;
    this.toState = toState;
    this.pollInterval = pollInterval;
    this.maxDelay = maxDelay;
    this.listeners = new Map();
    this.socket = null;
    this.failures = 0;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.pollAbort = null;
    this.finished = false;
    this.destroyed = false;
    this.mode = "connecting";
  }

  /** Subscribe to "state", "connection" or "error"; returns the function that unsubscribes. */
  on(type, handler) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(handler);
    return () => this.listeners.get(type)?.delete(handler);
  }

  emit(type, payload) {
    for (const handler of [...(this.listeners.get(type) || [])]) {
      try {
        handler(payload);
      } catch (error) {
        console.error(`progress listener for "${type}" failed`, error);
      }
    }
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.emit("connection", mode);
  }

  start() {
    if (!this.destroyed && !this.socket) this.connect();
    return this;
  }

  connect() {
    this.reconnectTimer = null;
    let socket;
    try {
      socket = new WebSocket(this.socketUrl);
    } catch {
      this.onSocketClosed();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => this.setMode("live"));
    socket.addEventListener("message", (event) => this.onMessage(event.data));
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.socket = null;
      this.onSocketClosed();
    });
  }

  onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || message.type !== "progress") return;
    // Only a socket that delivers counts as healthy (a server may accept and then close at once).
    this.failures = 0;
    this.stopPolling();
    this.setMode("live");
    this.deliver(message);
  }

  /** Hand a state to the listeners; also for states learnt elsewhere (a cancel request's answer). */
  deliver(state) {
    if (this.destroyed) return;
    this.emit("state", state);
    if (FINAL_STATUSES.has(state.status)) this.finish();
  }

  /** The analysis reached a final status: nothing more will change. */
  finish() {
    this.finished = true;
    this.stopPolling();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000);
    this.setMode("closed");
  }

  onSocketClosed() {
    if (this.destroyed || this.finished) return;
    this.failures += 1;
    if (this.failures >= POLL_AFTER_FAILURES) this.startPolling();
    else this.setMode("reconnecting");
    const exponential = BASE_DELAY_MS * 2 ** Math.min(this.failures - 1, 10);
    const delay = Math.min(this.maxDelay, exponential) * (0.75 + Math.random() * 0.5);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  startPolling() {
    this.setMode("polling");
    if (this.pollTimer !== null) return;
    const tick = async () => {
      this.pollAbort = new AbortController();
      try {
        const body = await apiFetch(this.pollUrl, { signal: this.pollAbort.signal });
        this.deliver(this.toState(body));
      } catch (error) {
        if (error?.name === "AbortError") return;
        this.emit("error", error);
        if (error?.status === 404 || error?.status === 403) {
          this.finish();
          return;
        }
      }
      if (this.pollTimer !== null && !this.finished && !this.destroyed) {
        this.pollTimer = setTimeout(tick, this.pollInterval);
      }
    };
    this.pollTimer = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.pollAbort?.abort();
    this.pollAbort = null;
  }

  /** Close everything and drop all listeners. */
  destroy() {
    this.destroyed = true;
    this.stopPolling();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.socket) {
      this.socket.close(1000);
      this.socket = null;
    }
    this.listeners.clear();
  }
}
