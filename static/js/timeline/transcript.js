// "Now speaking": the transcript line under the player, with the spoken word highlighted as the
// video plays (word timestamps from the transcript API).

export class SpokenLine {
  constructor(root) {
    this.root = root;
    this.segment = null;
    this.spans = [];
    this.word = -1;
  }

  update(segment, time) {
    if (segment !== this.segment) {
      this.segment = segment;
      this.word = -1;
      this.spans = [];
      if (!segment) {
        this.root.textContent = "";
        return;
      }
      const words = segment.words.length ? segment.words : [{ word: segment.text, start: segment.start, end: segment.end }];
      const nodes = [];
      for (const word of words) {
        const span = document.createElement("span");
        span.className = "word";
        span.textContent = String(word.word).trim();
        span.dataset.start = word.start;
        span.dataset.end = word.end;
        this.spans.push(span);
        nodes.push(span, " ");
      }
      this.root.replaceChildren(...nodes);
    }
    const at = this.spans.findIndex((s) => time >= Number(s.dataset.start) && time < Number(s.dataset.end));
    if (at !== this.word) {
      this.spans[this.word]?.classList.remove("is-spoken");
      this.spans[at]?.classList.add("is-spoken");
      this.word = at;
    }
  }
}
