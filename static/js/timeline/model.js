// The timeline's data: scenes sorted by time, storylines as lanes, fast lookups by time and id.
//
// Scenes never overlap and come sorted by start, so "which scenes are visible" and "which scene
// plays at t" are binary searches: the view touches only what is on screen, even at 1,500 scenes.

export const NO_STORYLINE = "none"; // the lane of scenes in no storyline

/** Index of the first scene whose end is after `time` (scenes sorted by start, not overlapping). */
export function firstEndingAfter(scenes, time) {
  let lo = 0;
  let hi = scenes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (scenes[mid].end <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class TimelineModel {
  constructor() {
    this.duration = 0;
    this.fps = 25;
    this.scenes = [];
    this.storylines = [];
    this.byId = new Map();
    this.storylineById = new Map();
    this.lanes = []; // [{key, storyline|null}] in drawing order
    this.canUndo = false;
    this.canRedo = false;
    this.excluded = new Set();
    this.segments = [];
    this.waveform = null; // {rate, peaks}
    this.thumbnailStrip = null;
  }

  /** Take a `GET /api/analyses/{id}/timeline` body. */
  update(body) {
    this.duration = body.duration;
    this.fps = body.fps || 25;
    this.storylines = body.storylines;
    this.storylineById = new Map(body.storylines.map((s) => [s.id, s]));
    this.scenes = body.scenes.slice().sort((a, b) => a.start - b.start);
    this.byId = new Map(this.scenes.map((scene, i) => [scene.id, { scene, position: i }]));
    this.excluded = new Set(body.excluded || []);
    this.canUndo = Boolean(body.can_undo);
    this.canRedo = Boolean(body.can_redo);
    this.thumbnailStrip = body.thumbnail_strip || null;
    this.lanes = [
      ...body.storylines.map((storyline) => ({ key: storyline.id, storyline })),
      { key: NO_STORYLINE, storyline: null },
    ];
  }

  laneIndexOf(scene) {
    const at = this.lanes.findIndex((lane) => lane.key === (scene.storyline_id ?? NO_STORYLINE));
    return at >= 0 ? at : this.lanes.length - 1;
  }

  scene(id) {
    return this.byId.get(id)?.scene || null;
  }

  storyline(id) {
    return this.storylineById.get(id) || null;
  }

  /** Scenes overlapping [from, to), in time order. */
  *scenesBetween(from, to) {
    for (let i = firstEndingAfter(this.scenes, from); i < this.scenes.length; i += 1) {
      const scene = this.scenes[i];
      if (scene.start >= to) return;
      yield scene;
    }
  }

  sceneAt(time) {
    const i = firstEndingAfter(this.scenes, time);
    const scene = this.scenes[i];
    return scene && scene.start <= time ? scene : null;
  }

  /** The scene `step` places after (or before) `id`; at the ends, the first or last. */
  neighbour(id, step) {
    if (!this.scenes.length) return null;
    const at = this.byId.get(id)?.position;
    if (at === undefined) return this.scenes[step > 0 ? 0 : this.scenes.length - 1];
    return this.scenes[Math.min(this.scenes.length - 1, Math.max(0, at + step))];
  }

  /** Transcript segments (`GET …/transcript`), with their words, sorted by start. */
  setSegments(segments) {
    this.segments = segments
      .map((s) => ({ start: s.start_time, end: s.end_time, text: s.text, words: s.words || [], scene_id: s.scene_id }))
      .sort((a, b) => a.start - b.start);
  }

  *segmentsBetween(from, to) {
    for (let i = firstEndingAfter(this.segments, from); i < this.segments.length; i += 1) {
      const segment = this.segments[i];
      if (segment.start >= to) return;
      yield segment;
    }
  }

  segmentAt(time) {
    const i = firstEndingAfter(this.segments, time);
    const segment = this.segments[i];
    return segment && segment.start <= time ? segment : null;
  }
}
