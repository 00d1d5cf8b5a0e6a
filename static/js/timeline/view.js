// The timeline drawn on one canvas: ruler, filmstrip, one lane per storyline (and one for scenes
// in none), transcript and waveform lanes, and the playhead.
//
// Drawing happens in requestAnimationFrame, at most once per frame, and only for what is on
// screen (binary searches in the model), so zooming and scrolling stay smooth at 1,500 scenes.
// Pointer input: click a scene to select and play it, drag it to another lane to move it, click
// elsewhere to seek, drag the ruler to scroll, drag a cut's marker on the ruler to move the cut;
// wheel scrolls, Ctrl/⌘+wheel zooms.

import { NO_STORYLINE } from "./model.js";

export const ROW_HEIGHTS = { ruler: 24, film: 44, lane: 52, text: 30, wave: 44 };
const MIN_PX_PER_SECOND_FACTOR = 1; // fully zoomed out: the whole film fits
const MAX_PX_PER_SECOND = 400;
const DRAG_THRESHOLD = 5;
const TICK_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const NONE_COLOR = "#8a8f98";
const CUT_COLOR = "#1f5fbf";
const CUT_GRAB_PX = 6; // a press this close to a cut's marker on the ruler drags the cut

function clockLabel(seconds, step) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const base = h ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
  return step < 1 ? `${base}.${Math.round((seconds - whole) * 10)}` : base;
}

export class TimelineView {
  /**
   * @param {{canvas: HTMLCanvasElement, model: import("./model.js").TimelineModel,
   *          onSceneClick?: Function, onSceneDrop?: Function, onSeek?: Function,
   *          onLayout?: Function, onViewChange?: Function, onCutMove?: Function}} options
   */
  constructor({ canvas, model, onSceneClick, onSceneDrop, onSeek, onLayout, onViewChange, onCutMove }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.model = model;
    this.callbacks = { onSceneClick, onSceneDrop, onSeek, onLayout, onViewChange, onCutMove };
    this.pending = new Set(); // scenes whose partial re-run (after a cut edit) is under way
    this.width = 0;
    this.height = 0;
    this.start = 0; // seconds at the left edge
    this.pps = 1; // pixels per second
    this.time = 0; // the playhead
    this.playing = false;
    this.selected = new Set();
    this.marks = { in: null, out: null };
    this.rows = [];
    this.images = new Map(); // url -> HTMLImageElement (loaded lazily, for visible scenes)
    this.drag = null;
    this.frame = 0;
    this.stats = { frames: 0, lastMs: 0, totalMs: 0, maxMs: 0 };
    this.fitted = true;
    this.bindInput();
  }

  // --- Geometry --------------------------------------------------------------------------

  layout() {
    const rows = [{ kind: "ruler" }, { kind: "film" }];
    this.model.lanes.forEach((lane, index) => rows.push({ kind: "lane", lane, index }));
    rows.push({ kind: "text" }, { kind: "wave" });
    let y = 0;
    for (const row of rows) {
      row.y = y;
      row.h = row.kind === "lane" ? ROW_HEIGHTS.lane : ROW_HEIGHTS[row.kind];
      y += row.h;
    }
    this.rows = rows;
    this.resize(y);
    this.callbacks.onLayout?.(rows);
  }

  resize(height = this.height) {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(100, Math.floor(this.canvas.parentElement.clientWidth));
    if (width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
      this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    if (this.fitted) this.fit();
    else this.setView(this.start, this.pps);
  }

  minPps() {
    return (this.width / Math.max(this.model.duration, 0.001)) * MIN_PX_PER_SECOND_FACTOR;
  }

  timeToX(time) {
    return (time - this.start) * this.pps;
  }

  xToTime(x) {
    return this.start + x / this.pps;
  }

  visibleSeconds() {
    return this.width / this.pps;
  }

  setView(start, pps) {
    const min = this.minPps();
    this.pps = Math.min(MAX_PX_PER_SECOND, Math.max(min, pps));
    const maxStart = Math.max(0, this.model.duration - this.visibleSeconds());
    this.start = Math.min(maxStart, Math.max(0, start));
    this.fitted = this.pps <= min * 1.0001;
    this.requestRender();
    this.callbacks.onViewChange?.(this);
  }

  fit() {
    this.fitted = true;
    this.setView(0, this.minPps());
  }

  /** Zoom by `factor` keeping the time under `x` (default: the playhead, or the middle) still. */
  zoom(factor, x) {
    const anchorX = x ?? (this.time >= this.start && this.time <= this.xToTime(this.width) ? this.timeToX(this.time) : this.width / 2);
    const anchorTime = this.xToTime(anchorX);
    const pps = this.pps * factor;
    const clamped = Math.min(MAX_PX_PER_SECOND, Math.max(this.minPps(), pps));
    this.setView(anchorTime - anchorX / clamped, clamped);
  }

  scrollBy(seconds) {
    this.setView(this.start + seconds, this.pps);
  }

  /** Scroll so `time` is on screen (with a margin), e.g. to follow the playhead. */
  reveal(time, margin = 0.1) {
    const span = this.visibleSeconds();
    if (time < this.start || time > this.start + span * (1 - margin / 2)) {
      this.setView(time - span * margin, this.pps);
    }
  }

  rowAt(y) {
    return this.rows.find((row) => y >= row.y && y < row.y + row.h) || null;
  }

  laneRow(index) {
    return this.rows.find((row) => row.kind === "lane" && row.index === index);
  }

  /** Where a scene's block is, in CSS pixels relative to the canvas (tests and tooltips). */
  sceneRect(id) {
    const scene = this.model.scene(id);
    if (!scene) return null;
    const row = this.laneRow(this.model.laneIndexOf(scene));
    const x = this.timeToX(scene.start);
    return { x, y: row.y + 3, width: Math.max(1, this.timeToX(scene.end) - x), height: row.h - 6 };
  }

  hit(x, y) {
    const row = this.rowAt(y);
    const time = this.xToTime(x);
    if (!row) return { row: null, scene: null, time };
    let scene = null;
    if (row.kind === "lane" || row.kind === "film") {
      const at = this.model.sceneAt(time);
      if (at && (row.kind === "film" || this.model.laneIndexOf(at) === row.index)) scene = at;
    }
    return { row, scene, time };
  }

  // --- State from outside ------------------------------------------------------------------

  setTime(time, follow) {
    this.time = time;
    if (follow) this.reveal(time);
    this.requestRender();
  }

  select(ids) {
    this.selected = new Set(ids);
    this.requestRender();
  }

  /** Scenes being re-run after a cut edit: drawn hatched until the re-run is done. */
  setPending(ids) {
    this.pending = new Set(ids);
    this.requestRender();
  }

  /** The scene starting at the cut whose ruler marker is within reach of `x`, or null. */
  cutNear(x) {
    const time = this.xToTime(x);
    const reach = CUT_GRAB_PX / this.pps;
    for (const scene of this.model.scenesBetween(time - reach, time + reach)) {
      if (scene.index > 0 && Math.abs(this.timeToX(scene.start) - x) <= CUT_GRAB_PX) return scene;
    }
    return null;
  }

  /** In and out marks (seconds or null), drawn as a band on the ruler and lines across. */
  setMarks(marks) {
    this.marks = { ...marks };
    this.requestRender();
  }

  requestRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  // --- Drawing ----------------------------------------------------------------------------

  draw() {
    const began = performance.now();
    const { ctx } = this;
    ctx.clearRect(0, 0, this.width, this.height);
    const from = this.start;
    const to = this.xToTime(this.width);
    for (const row of this.rows) {
      if (row.kind === "ruler") this.drawRuler(row);
      else if (row.kind === "film") this.drawFilm(row, from, to);
      else if (row.kind === "lane") this.drawLaneBackground(row);
      else if (row.kind === "text") this.drawTranscript(row, from, to);
      else if (row.kind === "wave") this.drawWave(row);
    }
    this.drawScenes(from, to);
    this.drawCuts(from, to);
    this.drawDragGhost();
    this.drawMarks();
    this.drawPlayhead();
    const ms = performance.now() - began;
    this.stats.frames += 1;
    this.stats.lastMs = ms;
    this.stats.totalMs += ms;
    this.stats.maxMs = Math.max(this.stats.maxMs, ms);
  }

  drawRuler(row) {
    const { ctx } = this;
    ctx.fillStyle = "#f0f1f4";
    ctx.fillRect(0, row.y, this.width, row.h);
    const step = TICK_STEPS.find((s) => s * this.pps >= 80) || 3600;
    ctx.fillStyle = "#5f6673";
    ctx.strokeStyle = "#c5c9d2";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.beginPath();
    for (let t = Math.floor(this.start / step) * step; t <= this.xToTime(this.width); t += step) {
      const x = Math.round(this.timeToX(t)) + 0.5;
      ctx.moveTo(x, row.y + row.h - 8);
      ctx.lineTo(x, row.y + row.h);
      ctx.fillText(clockLabel(t, step), x + 3, row.y + row.h / 2 - 2);
    }
    ctx.stroke();
  }

  drawLaneBackground(row) {
    const { ctx } = this;
    ctx.fillStyle = row.index % 2 ? "#f7f8fa" : "#ffffff";
    ctx.fillRect(0, row.y, this.width, row.h);
    ctx.fillStyle = "#e7e9ee";
    ctx.fillRect(0, row.y + row.h - 1, this.width, 1);
  }

  image(url) {
    if (!url) return null;
    let img = this.images.get(url);
    if (!img) {
      img = new Image();
      img.decoding = "async";
      img.onload = () => this.requestRender();
      img.src = url;
      this.images.set(url, img);
    }
    return img.complete && img.naturalWidth ? img : null;
  }

  drawFilm(row, from, to) {
    const { ctx } = this;
    ctx.fillStyle = "#1c1f26";
    ctx.fillRect(0, row.y, this.width, row.h);
    const strip = this.model.thumbnailStrip;
    if (strip?.url) {
      this.drawStrip(row, strip, from, to);
      return;
    }
    const tileW = Math.round(((row.h - 4) * 16) / 9);
    for (const scene of this.model.scenesBetween(from, to)) {
      const x0 = this.timeToX(scene.start);
      const w = this.timeToX(scene.end) - x0;
      if (w < 6) continue;
      const img = this.image(scene.thumb);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x0, row.y + 2, Math.max(1, w - 1), row.h - 4);
      ctx.clip();
      if (img) {
        for (let x = Math.max(x0, -tileW); x < Math.min(x0 + w, this.width); x += tileW) {
          ctx.drawImage(img, x, row.y + 2, tileW, row.h - 4);
        }
      } else {
        ctx.fillStyle = "#333845";
        ctx.fillRect(x0, row.y + 2, w - 1, row.h - 4);
      }
      ctx.restore();
    }
  }

  /** A sprite of tiles every `interval` seconds (the thumbnail-strip stage's output). */
  drawStrip(row, strip, from, to) {
    const img = this.image(strip.url);
    if (!img) return;
    const columns = strip.columns || strip.count;
    const tileW = ((row.h - 4) * strip.tile_width) / strip.tile_height;
    const step = Math.max(strip.interval, tileW / this.pps);
    for (let t = Math.floor(from / step) * step; t < to; t += step) {
      const i = Math.min(strip.count - 1, Math.floor(t / strip.interval));
      const sx = (i % columns) * strip.tile_width;
      const sy = Math.floor(i / columns) * strip.tile_height;
      this.ctx.drawImage(img, sx, sy, strip.tile_width, strip.tile_height, this.timeToX(t), row.y + 2, tileW, row.h - 4);
    }
  }

  drawScenes(from, to) {
    const { ctx } = this;
    const rowsByLane = this.rows.filter((r) => r.kind === "lane");
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    const playing = this.model.sceneAt(this.time);
    for (const scene of this.model.scenesBetween(from, to)) {
      const row = rowsByLane[this.model.laneIndexOf(scene)];
      if (!row) continue;
      const x0 = this.timeToX(scene.start);
      const full = this.timeToX(scene.end) - x0;
      const w = Math.max(1, full > 3 ? full - 1 : full);
      const y = row.y + 3;
      const h = row.h - 6;
      const storyline = this.model.storyline(scene.storyline_id);
      const dragged = this.drag?.kind === "scene" && this.drag.moving && this.drag.ids.has(scene.id);
      ctx.globalAlpha = (storyline ? 0.3 + 0.7 * scene.relevance : 0.55) * (dragged ? 0.35 : 1);
      ctx.fillStyle = storyline ? storyline.color : NONE_COLOR;
      ctx.fillRect(x0, y, w, h);
      ctx.globalAlpha = dragged ? 0.35 : 1;
      if (w >= 60) this.drawThumb(scene, x0 + 2, y + 2, h - 4, w - 4);
      if (w >= 22) {
        ctx.fillStyle = "#ffffff";
        ctx.fillText(String(scene.index + 1), x0 + 4, y + 3, w - 6);
      }
      ctx.globalAlpha = 1;
      if (scene === playing) {
        ctx.fillStyle = "#1c1f26";
        ctx.fillRect(x0, y + h - 3, w, 3);
      }
      if (scene.needs_review) this.drawUnsure(x0, y, w, h);
      if (this.pending.has(scene.id)) this.drawPending(x0, y, w, h);
      if (this.selected.has(scene.id)) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#1c1f26";
        ctx.strokeRect(x0 + 1, y + 1, Math.max(1, w - 2), h - 2);
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 2.5, y + 2.5, Math.max(1, w - 5), h - 5);
      }
    }
  }

  /** A scene being re-run: diagonal hatching over its block. */
  drawPending(x, y, w, h) {
    const { ctx } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.strokeStyle = "rgb(255 255 255 / 70%)";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let i = x - h; i < x + w; i += 8) {
      ctx.moveTo(i, y + h);
      ctx.lineTo(i + h, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  /** Each cut: a marker on the ruler (drag it to move the cut) and a line over the filmstrip. */
  drawCuts(from, to) {
    const { ctx } = this;
    const ruler = this.rows[0];
    const film = this.rows[1];
    const drag = this.drag?.kind === "cut" && this.drag.moving ? this.drag : null;
    ctx.fillStyle = CUT_COLOR;
    ctx.strokeStyle = CUT_COLOR;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const scene of this.model.scenesBetween(from, to)) {
      if (scene.index === 0) continue;
      const x = Math.round(drag?.scene === scene ? drag.x : this.timeToX(scene.start)) + 0.5;
      if (x < -CUT_GRAB_PX || x > this.width + CUT_GRAB_PX) continue;
      ctx.moveTo(x - 4, ruler.y + ruler.h - 7);
      ctx.lineTo(x + 4, ruler.y + ruler.h - 7);
      ctx.lineTo(x, ruler.y + ruler.h);
      ctx.closePath();
      ctx.moveTo(x, film.y);
      ctx.lineTo(x, film.y + film.h);
    }
    ctx.fill();
    ctx.stroke();
    if (drag) {
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(drag.x) + 0.5, 0);
      ctx.lineTo(Math.round(drag.x) + 0.5, this.height);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  /** An unsure placement: a dashed outline and a "?" badge, so it reads without colour. */
  drawUnsure(x, y, w, h) {
    const { ctx } = this;
    ctx.save();
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#1c1f26";
    ctx.strokeRect(x + 1, y + 1, Math.max(1, w - 2), h - 2);
    ctx.restore();
    if (w < 16) return;
    const r = 7;
    const cx = x + w - r - 3;
    const cy = y + r + 3;
    ctx.fillStyle = "#1c1f26";
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, Math.PI * 2);
    ctx.fill();
    ctx.fillStyle = "#ffffff";
    ctx.font = "700 11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("?", cx, cy + 0.5);
    ctx.textAlign = "start";
    ctx.textBaseline = "top";
    ctx.font = "600 11px system-ui, sans-serif";
  }

  drawThumb(scene, x, y, h, maxW) {
    const img = this.image(scene.thumb);
    if (!img) return;
    const w = Math.min(maxW * 0.6, (h * img.naturalWidth) / img.naturalHeight);
    if (w < 24) return;
    this.ctx.drawImage(img, x + maxW - w, y, w, h);
  }

  drawTranscript(row, from, to) {
    const { ctx } = this;
    ctx.fillStyle = "#fbfbfd";
    ctx.fillRect(0, row.y, this.width, row.h);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const current = this.model.segmentAt(this.time);
    for (const segment of this.model.segmentsBetween(from, to)) {
      const x0 = this.timeToX(segment.start);
      const w = Math.max(1, this.timeToX(segment.end) - x0);
      ctx.fillStyle = segment === current ? "#c9c9f6" : "#e4e6ee";
      ctx.fillRect(x0, row.y + 4, w, row.h - 8);
      if (w > 30) {
        ctx.fillStyle = "#1c1f26";
        ctx.fillText(segment.text, x0 + 4, row.y + row.h / 2, w - 8);
      }
    }
  }

  drawWave(row) {
    const { ctx } = this;
    ctx.fillStyle = "#f4f5f8";
    ctx.fillRect(0, row.y, this.width, row.h);
    const wave = this.model.waveform;
    if (!wave?.peaks?.length) return;
    const mid = row.y + row.h / 2;
    const scale = (row.h / 2 - 2) / 255;
    ctx.fillStyle = "#7b7fd8";
    const perPixel = wave.rate / this.pps;
    for (let x = 0; x < this.width; x += 1) {
      const first = Math.floor(this.xToTime(x) * wave.rate);
      const last = Math.max(first + 1, Math.floor(first + perPixel));
      if (first >= wave.peaks.length) break;
      let peak = 0;
      for (let i = Math.max(0, first); i < last && i < wave.peaks.length; i += 1) {
        if (wave.peaks[i] > peak) peak = wave.peaks[i];
      }
      const h = Math.max(1, peak * scale);
      ctx.fillRect(x, mid - h, 1, h * 2);
    }
  }

  drawMarks() {
    const { in: start, out: end } = this.marks;
    if (start === null && end === null) return;
    const { ctx } = this;
    const ruler = this.rows[0];
    const x0 = start === null ? 0 : this.timeToX(start);
    const x1 = end === null ? this.width : this.timeToX(end);
    ctx.fillStyle = "rgb(91 91 214 / 28%)";
    ctx.fillRect(x0, ruler.y, x1 - x0, ruler.h);
    ctx.strokeStyle = "#4646b8";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const x of [start === null ? null : x0, end === null ? null : x1]) {
      if (x === null || x < 0 || x > this.width) continue;
      ctx.moveTo(Math.round(x) + 0.5, 0);
      ctx.lineTo(Math.round(x) + 0.5, this.height);
    }
    ctx.stroke();
  }

  drawPlayhead() {
    const x = Math.round(this.timeToX(this.time)) + 0.5;
    if (x < 0 || x > this.width) return;
    const { ctx } = this;
    ctx.strokeStyle = "#e0342f";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, this.height);
    ctx.stroke();
    ctx.fillStyle = "#e0342f";
    ctx.beginPath();
    ctx.moveTo(x - 6, 0);
    ctx.lineTo(x + 6, 0);
    ctx.lineTo(x, 9);
    ctx.fill();
  }

  drawDragGhost() {
    const drag = this.drag;
    if (drag?.kind !== "scene" || !drag.moving) return;
    const row = this.rowAt(drag.y);
    if (!row || row.kind !== "lane") return;
    const { ctx } = this;
    const lane = row.lane;
    ctx.fillStyle = lane.storyline ? lane.storyline.color : NONE_COLOR;
    ctx.globalAlpha = 0.25;
    ctx.fillRect(0, row.y, this.width, row.h);
    ctx.globalAlpha = 0.9;
    for (const id of drag.ids) {
      const scene = this.model.scene(id);
      if (!scene) continue;
      const x0 = this.timeToX(scene.start) + (drag.x - drag.x0);
      ctx.fillRect(x0, row.y + 3, Math.max(2, this.timeToX(scene.end) - this.timeToX(scene.start) - 1), row.h - 6);
    }
    ctx.globalAlpha = 1;
  }

  // --- Input ------------------------------------------------------------------------------

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  bindInput() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.onPointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.onPointerUp(event));
    canvas.addEventListener("pointercancel", () => {
      this.drag = null;
      this.requestRender();
    });
    canvas.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  onPointerDown(event) {
    if (event.button !== 0) return;
    const { x, y } = this.point(event);
    const hit = this.hit(x, y);
    this.canvas.setPointerCapture(event.pointerId);
    const additive = event.shiftKey || event.ctrlKey || event.metaKey;
    if (hit.scene && hit.row.kind === "lane") {
      const ids = this.selected.has(hit.scene.id) && this.selected.size > 1 && !additive ? new Set(this.selected) : new Set([hit.scene.id]);
      this.drag = { kind: "scene", scene: hit.scene, ids, x0: x, y0: y, x, y, moving: false, additive };
    } else if (hit.row?.kind === "ruler" && this.cutNear(x)) {
      this.drag = { kind: "cut", scene: this.cutNear(x), x0: x, x, moving: false };
    } else if (hit.row?.kind === "ruler") {
      this.drag = { kind: "pan", x0: x, start0: this.start, moving: false, time: hit.time };
    } else {
      this.drag = { kind: "seek", x0: x, y0: y, time: hit.time, scene: hit.scene };
    }
  }

  onPointerMove(event) {
    const drag = this.drag;
    const { x, y } = this.point(event);
    if (!drag) {
      const hit = this.hit(x, y);
      const onCut = hit.row?.kind === "ruler" && this.cutNear(x);
      this.canvas.style.cursor = hit.scene && hit.row.kind === "lane" ? "grab" : onCut ? "col-resize" : hit.row?.kind === "ruler" ? "ew-resize" : "default";
      return;
    }
    if (drag.kind === "cut") {
      drag.x = x;
      if (Math.abs(x - drag.x0) > DRAG_THRESHOLD / 2) drag.moving = true;
      if (drag.moving) this.requestRender();
      return;
    }
    if (drag.kind === "pan") {
      if (Math.abs(x - drag.x0) > DRAG_THRESHOLD) drag.moving = true;
      if (drag.moving) this.setView(drag.start0 - (x - drag.x0) / this.pps, this.pps);
      return;
    }
    if (drag.kind !== "scene") return;
    drag.x = x;
    drag.y = y;
    if (!drag.moving && Math.hypot(x - drag.x0, y - drag.y0) > DRAG_THRESHOLD) drag.moving = true;
    if (drag.moving) {
      this.canvas.style.cursor = "grabbing";
      this.requestRender();
    }
  }

  onPointerUp(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    const { x, y } = this.point(event);
    if (drag.kind === "pan") {
      if (!drag.moving) this.callbacks.onSeek?.(drag.time);
    } else if (drag.kind === "cut") {
      if (drag.moving) this.callbacks.onCutMove?.(drag.scene.id, this.xToTime(x));
      else this.callbacks.onSeek?.(drag.scene.start);
    } else if (drag.kind === "seek") {
      this.callbacks.onSeek?.(drag.time, drag.scene);
    } else if (drag.moving) {
      const row = this.rowAt(y);
      const from = this.model.laneIndexOf(drag.scene);
      if (row?.kind === "lane" && row.index !== from) {
        const key = row.lane.key;
        this.callbacks.onSceneDrop?.([...drag.ids], key === NO_STORYLINE ? null : key);
      }
    } else {
      this.callbacks.onSceneClick?.(drag.scene, { additive: drag.additive });
    }
    this.canvas.style.cursor = "default";
    this.requestRender();
  }

  /** Ctrl/⌘+wheel (and pinch) zooms; Shift+wheel or a sideways swipe scrolls; a plain wheel
   *  is left to the page so it still scrolls past the timeline. */
  onWheel(event) {
    const { x } = this.point(event);
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      this.zoom(Math.exp(-event.deltaY * 0.002), x);
      return;
    }
    const sideways = Math.abs(event.deltaX) > Math.abs(event.deltaY);
    if (!sideways && !event.shiftKey) return;
    event.preventDefault();
    this.scrollBy((sideways ? event.deltaX : event.deltaY) / this.pps);
  }
}
