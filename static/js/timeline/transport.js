// Moving through the film as in editing software: J/K/L shuttle (L forward, J backward, again
// for 2×, 4×, 8×; K stops), one frame or one second at a time, in and out marks.
//
// Browsers do not play backward (a negative playbackRate is refused), so J steps the playhead
// back on every animation frame while the video stays paused.

import { EventEmitter } from "../events.js";

const SPEEDS = [1, 2, 4, 8];

export class Transport extends EventEmitter {
  /** @param {{player: HTMLVideoElement, fps: () => number, duration: () => number}} options */
  constructor({ player, fps, duration }) {
    super();
    this.player = player;
    this.fps = fps;
    this.duration = duration;
    this.speed = 0; // signed shuttle speed; 0: not shuttling
    this.marks = { in: null, out: null };
    this.reverseFrame = 0;
    this.player.addEventListener("pause", () => {
      if (this.speed > 0) this.setSpeed(0);
    });
  }

  setSpeed(speed) {
    this.speed = speed;
    this.emit("shuttle", speed);
  }

  /** One press of L (direction 1) or J (-1): start that way, or go one speed faster. */
  shuttle(direction) {
    const same = Math.sign(this.speed) === direction;
    const at = same ? SPEEDS.indexOf(Math.abs(this.speed)) : -1;
    const speed = direction * SPEEDS[Math.min(SPEEDS.length - 1, at + 1)];
    this.stopReverse();
    this.setSpeed(speed);
    if (speed > 0) {
      this.player.playbackRate = speed;
      this.player.play().catch(() => {});
    } else {
      this.player.pause();
      this.player.playbackRate = 1;
      this.startReverse();
    }
  }

  stop() {
    this.stopReverse();
    this.player.pause();
    this.player.playbackRate = 1;
    this.setSpeed(0);
  }

  startReverse() {
    let last = performance.now();
    const step = (now) => {
      if (this.speed >= 0) return;
      const to = Math.max(0, this.player.currentTime + ((now - last) / 1000) * this.speed);
      last = now;
      this.seek(to);
      if (to <= 0) this.stop();
      else this.reverseFrame = requestAnimationFrame(step);
    };
    this.reverseFrame = requestAnimationFrame(step);
  }

  stopReverse() {
    cancelAnimationFrame(this.reverseFrame);
    this.reverseFrame = 0;
  }

  seek(time) {
    const clamped = Math.max(0, Math.min(this.duration(), time));
    this.emit("seek", clamped);
    return clamped;
  }

  /** Park on the frame `frames` away from the current one (a frame starts at n / fps). */
  stepFrames(frames) {
    this.stop();
    const fps = this.fps();
    const frame = Math.round(this.player.currentTime * fps) + frames;
    // A hair past the frame's start, so the decoder shows that frame and not the one before.
    return this.seek(frame / fps + 0.25 / fps);
  }

  stepSeconds(seconds) {
    this.stop();
    return this.seek(this.player.currentTime + seconds);
  }

  goTo(time) {
    this.stop();
    return this.seek(Math.min(time, this.lastFrameTime()));
  }

  lastFrameTime() {
    const fps = this.fps();
    return Math.max(0, Math.floor(this.duration() * fps - 1) / fps + 0.25 / fps);
  }

  mark(which) {
    const time = this.player.currentTime;
    this.marks[which] = time;
    // An out before the in (or an in after the out) starts a new range.
    const { in: start, out: end } = this.marks;
    if (start !== null && end !== null && end <= start) this.marks[which === "in" ? "out" : "in"] = null;
    this.emit("marks", { ...this.marks });
  }

  goToMark(which) {
    if (this.marks[which] !== null) this.goTo(this.marks[which]);
  }

  clearMarks() {
    this.marks = { in: null, out: null };
    this.emit("marks", { ...this.marks });
  }
}
