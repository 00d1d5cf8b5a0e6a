// What the analysis found, at a glance (GET …/insights): people with their appearances on a
// strip (click one to jump there), speakers with talk time, tags and on-screen text with their
// scenes. Every name, tag and text is also a filter: the scenes shown are those that match all
// the filters turned on.
//
//   const panel = new InsightsPanel({ root, sceneStart, onSeek });
//   const off = panel.on("filter", (indices) => …);   // a Set of 0-based scene indices, or null
//   panel.render(await apiFetch(url)); … panel.destroy();

import { EventEmitter } from "./events.js";
import { shortDuration, timecode } from "./format.js";

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export class InsightsPanel extends EventEmitter {
  /** @param {{root: HTMLElement, sceneStart: (index: number) => number, onSeek: (seconds: number) => void}} options */
  constructor({ root, sceneStart, onSeek }) {
    super();
    this.root = root;
    this.sceneStart = sceneStart;
    this.onSeek = onSeek;
    this.filters = new Map(); // key -> {label, scenes: Set}
    this.toggles = new Map(); // key -> button
    this.duration = 1;
  }

  render(data) {
    this.duration = Math.max(0.001, data.duration || 1);
    const groups = [
      this.group("People", "people", data.people, (p) => this.person(p)),
      this.group("Speakers", "speakers", data.speakers, (s) => this.speaker(s)),
      this.group("Tags", "tags", data.tags, (t) => this.tag(t), "insights__tags"),
      this.group("On-screen text", "texts", data.texts, (t) => this.text(t)),
    ].filter(Boolean);
    this.root.querySelector("[data-insights-body]").replaceChildren(...groups);
    this.root.hidden = groups.length === 0;
  }

  group(title, kind, items, render, listClass = "insights__list") {
    if (!items?.length) return null;
    const id = `insights-${kind}-title`;
    return el("section", { className: "insights__group", dataset: { testid: `insights-${kind}` }, "aria-labelledby": id }, [
      el("h3", { id, textContent: title }),
      el("ul", { className: listClass }, items.map(render)),
    ]);
  }

  /** A toggle that turns a filter on or off: the name, tag or text itself. */
  toggle(key, label, scenes, className, text = label) {
    const button = el("button", {
      type: "button",
      className,
      textContent: text,
      title: `Show only the scenes with ${label}`,
      "aria-pressed": "false",
      dataset: { testid: "insight-filter", key },
    });
    button.addEventListener("click", () => this.flip(key, label, scenes));
    this.toggles.set(key, button);
    return button;
  }

  flip(key, label, scenes) {
    if (this.filters.has(key)) this.filters.delete(key);
    else this.filters.set(key, { label, scenes: new Set(scenes) });
    this.toggles.get(key)?.setAttribute("aria-pressed", String(this.filters.has(key)));
    this.emit("filter", this.matching());
  }

  clear() {
    this.filters.clear();
    for (const button of this.toggles.values()) button.setAttribute("aria-pressed", "false");
    this.emit("filter", null);
  }

  /** Scene indices matching every filter on, or null when none is on. */
  matching() {
    let result = null;
    for (const { scenes } of this.filters.values()) {
      result = result === null ? new Set(scenes) : new Set([...result].filter((i) => scenes.has(i)));
    }
    return result;
  }

  labels() {
    return [...this.filters.values()].map((f) => f.label);
  }

  person(person) {
    const strip = el("div", { className: "insight-strip", role: "group", "aria-label": `Where ${person.name} appears` });
    for (const appearance of person.appearances) {
      const left = (appearance.start / this.duration) * 100;
      const width = Math.max(0.8, ((appearance.end - appearance.start) / this.duration) * 100);
      const mark = el("button", {
        type: "button",
        className: "insight-strip__mark",
        "aria-label": `${person.name} at ${timecode(appearance.start)}, scene ${appearance.scene + 1}`,
        title: `${timecode(appearance.start)} \u2013 ${timecode(appearance.end)} \u00b7 scene ${appearance.scene + 1}`,
        dataset: { testid: "appearance", start: String(appearance.start) },
        style: { left: `${left}%`, width: `${width}%` },
      });
      mark.addEventListener("click", () => this.onSeek(appearance.start));
      strip.append(mark);
    }
    const face = person.thumb
      ? el("img", { className: "insight-person__face", src: person.thumb, alt: "", width: 36, height: 36 })
      : el("span", { className: "insight-person__face insight-person__face--none", "aria-hidden": "true", textContent: person.name.slice(0, 1) });
    const facts = `${shortDuration(person.seconds)} on screen \u00b7 ${plural(person.scenes.length, "scene")}`;
    return el("li", { className: "insight-person", dataset: { testid: "insight-person" } }, [
      face,
      el("div", { className: "insight-person__text" }, [
        this.toggle(`person:${person.id}`, person.name, person.scenes, "insight-name"),
        el("span", { className: "muted insight-facts", textContent: facts }),
      ]),
      strip,
    ]);
  }

  speaker(speaker) {
    const pct = Math.round(speaker.share * 100);
    return el("li", { className: "insight-speaker", dataset: { testid: "insight-speaker" } }, [
      this.toggle(`speaker:${speaker.id}`, speaker.name, speaker.scenes, "insight-name"),
      el("span", { className: "meter__track", "aria-hidden": "true" }, [el("span", { className: "meter__fill", style: { width: `${pct}%`, background: "var(--accent)" } })]),
      el("span", { className: "muted num insight-facts", dataset: { testid: "speaker-time" }, textContent: `${shortDuration(speaker.seconds)} \u00b7 ${pct} %` }),
    ]);
  }

  tag(tag) {
    const text = `${tag.label} \u00b7 ${tag.scenes.length}`;
    return el("li", {}, [this.toggle(`tag:${tag.label}`, tag.label, tag.scenes, "tag insight-tag", text)]);
  }

  text(item) {
    const scenes = item.scenes.map((index) => {
      const link = el("button", { type: "button", className: "link-button", textContent: `Scene ${index + 1}`, dataset: { testid: "text-scene" } });
      link.addEventListener("click", () => this.onSeek(this.sceneStart(index)));
      return link;
    });
    const where = el("span", { className: "insight-text__scenes" });
    scenes.forEach((link, i) => where.append(...(i ? [", ", link] : [link])));
    return el("li", { className: "insight-text", dataset: { testid: "insight-text" } }, [
      this.toggle(`text:${item.text}`, `\u201c${item.text}\u201d`, item.scenes, "insight-name insight-text__value", item.text),
      where,
    ]);
  }
}
