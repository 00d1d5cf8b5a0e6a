// The scene details panel: transcript (words clickable), what the other apps found (caption,
// characters, tags, on-screen text…), interest and its parts, relevance to every storyline, and
// the scene's neighbours in the scene graph.

import { apiFetch } from "../api.js";
import { shortDuration, timecode } from "../format.js";

const KNOWN_EXTRAS = new Set(["visual_analysis", "scene_index", "people", "characters", "interest", "storyline_relevance",
  "storyline_confidence", "storyline_reasons", "storyline_doubt", "storyline_runner_up", "needs_review"]);

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

function section(title, body, testid) {
  return el("section", { className: "details__section", dataset: { testid } }, [el("h3", { textContent: title }), body]);
}

function bar(value, color, label) {
  const pct = Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100);
  return el("div", { className: "meter" }, [
    el("span", { className: "meter__label", textContent: label }),
    el("span", { className: "meter__track" }, [el("span", { className: "meter__fill", style: { width: `${pct}%`, background: color } })]),
    el("span", { className: "meter__value num", textContent: `${pct}` }),
  ]);
}

function chips(items) {
  return el("ul", { className: "tags" }, items.map((text) => el("li", { className: "tag", textContent: text })));
}

/** The result JSON names storylines `storyline_N` (N by order, from 1): the lane's name. */
function runnerUpName(publicId, model) {
  const order = Number(String(publicId).replace("storyline_", "")) - 1;
  return model.storylines[order]?.name || null;
}

export class DetailsPanel {
  /** @param {{root: HTMLElement, urlFor: (sceneId: string) => string, onSeek: Function, onSelect: Function}} options */
  constructor({ root, urlFor, onSeek, onSelect }) {
    this.root = root;
    this.urlFor = urlFor;
    this.onSeek = onSeek;
    this.onSelect = onSelect;
    this.sceneId = null;
    this.abort = null;
    this.words = [];
  }

  clear() {
    this.sceneId = null;
    this.root.replaceChildren(el("p", { className: "muted", textContent: "Select a scene to see everything known about it." }));
  }

  async show(sceneId, model) {
    this.sceneId = sceneId;
    this.abort?.abort();
    this.abort = new AbortController();
    this.root.setAttribute("aria-busy", "true");
    try {
      const details = await apiFetch(this.urlFor(sceneId), { signal: this.abort.signal });
      if (this.sceneId === sceneId) this.render(details, model);
    } catch (error) {
      if (error?.name !== "AbortError") this.root.replaceChildren(el("p", { className: "alert alert--error", textContent: error.message }));
    } finally {
      this.root.removeAttribute("aria-busy");
    }
  }

  render(details, model) {
    const scene = model.scene(details.id);
    const storyline = scene ? model.storyline(scene.storyline_id) : null;
    const head = el("header", { className: "details__head" }, [
      el("h2", { id: "details-title", textContent: `Scene ${details.index + 1}`, dataset: { testid: "details-title" } }),
      el("p", { className: "muted num", textContent: `${timecode(details.start)} \u2013 ${timecode(details.end)} \u00b7 ${shortDuration(details.end - details.start)}` }),
      el("p", { className: "chip", dataset: { testid: "details-storyline" }, style: { "--chip": storyline?.color || "#8a8f98" } }, [
        el("span", { className: "chip__dot", "aria-hidden": "true" }),
        el("span", { className: "chip__text", textContent: storyline ? storyline.name : "No storyline" }),
      ]),
    ]);
    const parts = [head, this.confidence(details.extras || {}, model), this.transcript(details), ...this.extras(details.extras || {}), this.interest(details.interest), this.relevance(details.relevance || []), this.neighbours(details.neighbours || [], model)];
    this.root.replaceChildren(...parts.filter(Boolean));
  }

  transcript(details) {
    this.words = [];
    if (!details.segments.length) return section("Transcript", el("p", { className: "muted", textContent: "No speech." }), "details-transcript");
    const body = el("div", { className: "details__transcript" });
    for (const segment of details.segments) {
      const line = el("p", { className: "details__line" });
      const words = segment.words?.length ? segment.words : [{ word: segment.text, start: segment.start, end: segment.end }];
      for (const word of words) {
        const span = el("button", { type: "button", className: "word", textContent: String(word.word).trim(), dataset: { start: word.start, end: word.end } });
        span.addEventListener("click", () => this.onSeek(Number(word.start)));
        this.words.push(span);
        line.append(span, " ");
      }
      body.append(line);
    }
    return section("Transcript", body, "details-transcript");
  }

  /** Highlight the word being spoken at `time` among the panel's words. */
  highlight(time) {
    for (const span of this.words) {
      const on = time >= Number(span.dataset.start) && time < Number(span.dataset.end);
      if (on !== span.classList.contains("is-spoken")) span.classList.toggle("is-spoken", on);
    }
  }

  extras(extras) {
    const out = [];
    const visual = extras.visual_analysis;
    if (visual?.caption) out.push(section("Caption", el("p", { textContent: visual.caption }), "details-caption"));
    const characters = extras.characters || [];
    const people = characters.length ? characters.map((c) => c.name || c.label || "someone") : extras.people || [];
    const speakers = extras.scene_index?.speakers || [];
    if (people.length || speakers.length) {
      const body = el("div", {}, [people.length ? chips(people) : null, speakers.length ? el("p", { className: "muted", textContent: `Speakers: ${speakers.join(", ")}` }) : null]);
      out.push(section("Characters", body, "details-characters"));
    }
    const tags = [...new Set([...(visual?.tags || []), ...(visual?.objects || []).map((o) => (typeof o === "string" ? o : o.label || o.name))].filter(Boolean))];
    if (visual?.place) tags.unshift(visual.place);
    if (tags.length) out.push(section("Tags", chips(tags), "details-tags"));
    if (visual?.onscreen_text) out.push(section("On-screen text", el("p", { className: "details__ocr", textContent: visual.onscreen_text }), "details-ocr"));
    const others = Object.entries(extras).filter(([key, value]) => !KNOWN_EXTRAS.has(key) && value !== null && value !== undefined);
    for (const [key, value] of others) {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      out.push(section(key.replaceAll("_", " "), el("p", { className: "details__other", textContent: text.slice(0, 600) }), `details-${key}`));
    }
    return out;
  }

  /** How sure the grouping is of the scene's storyline, why, and what pulls the other way. */
  confidence(extras, model) {
    const value = extras.storyline_confidence;
    if (value === null || value === undefined) return null;
    const unsure = Boolean(extras.needs_review);
    const pct = Math.round(value * 100);
    const verdict = el("p", { className: `details__verdict${unsure ? " details__verdict--unsure" : ""}`, dataset: { testid: "details-confidence-verdict" } }, [
      unsure ? el("span", { className: "unsure-badge", "aria-hidden": "true", textContent: "?" }) : null,
      `${unsure ? "Unsure placement, worth a review" : "Placement looks right"}: ${pct} % confident`,
    ]);
    const reasons = el("ul", { className: "details__reasons", dataset: { testid: "details-reasons" } });
    for (const reason of extras.storyline_reasons || []) {
      const share = typeof reason.share === "number" ? ` (+${Math.round(reason.share * 100)})` : "";
      reasons.append(el("li", { textContent: `${reason.why}${share}` }));
    }
    const doubt = extras.storyline_doubt;
    const runnerUp = extras.storyline_runner_up ? runnerUpName(extras.storyline_runner_up, model) : null;
    const against = doubt
      ? el("p", { className: "details__against", dataset: { testid: "details-against" } }, [
          el("strong", { textContent: "Pulling the other way: " }),
          `${doubt.why}${typeof doubt.share === "number" ? ` (${Math.round(doubt.share * 100)})` : ""}${runnerUp ? `, towards \u201c${runnerUp}\u201d` : ""}`,
        ])
      : null;
    const body = el("div", {}, [verdict, reasons.childElementCount ? reasons : null, against]);
    return section("Storyline confidence", body, "details-confidence");
  }

  interest(interest) {
    if (!interest) return null;
    const body = el("div", {}, [bar(interest.score, "var(--accent)", "Score")]);
    for (const [name, value] of Object.entries(interest.parts || {})) {
      if (typeof value === "number") body.append(bar(value, "#9aa0c9", name.replaceAll("_", " ")));
    }
    return section("Interest", body, "details-interest");
  }

  relevance(rows) {
    if (!rows.length) return null;
    return section("Relevance to each storyline", el("div", {}, rows.map((r) => bar(r.relevance, r.color, r.name))), "details-relevance");
  }

  neighbours(items, model) {
    if (!items.length) return null;
    const list = el("ul", { className: "neighbours" });
    for (const item of items) {
      const other = model.scene(item.scene_id);
      const label = other ? `Scene ${other.index + 1}` : item.scene_id;
      const button = el("button", { type: "button", className: "link-button", textContent: label });
      button.addEventListener("click", () => this.onSelect(item.scene_id, true));
      const why = item.why?.length ? ` \u2014 ${item.why.join(", ")}` : "";
      const kind = item.kind === "causal" ? (item.direction === "cause" ? " (leads here)" : " (leads on)") : "";
      list.append(el("li", {}, [button, el("span", { className: "muted", textContent: ` ${Math.round(item.weight * 100)} %${kind}${why}` })]));
    }
    return section("Neighbours in the scene graph", list, "details-neighbours");
  }
}
