// The scene graph of an analysis (story app): scenes along time, one row per storyline, arcs for
// the strongest links, each arc's title telling why. Redrawn when the storylines change.

const SVG = "http://www.w3.org/2000/svg";
const ROW = 34;
const PAD = 16;
const MAX_EDGES = 120;

function el(name, attrs = {}, text = "") {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}

function clock(seconds) {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Draws `graph` (the API's /graph body) into `container` as an SVG. */
export function drawGraph(container, graph) {
  container.replaceChildren();
  const lanes = new Map(graph.storylines.map((s, i) => [s.id, i]));
  const laneCount = Math.max(1, graph.storylines.length + 1); // last row: no storyline
  const width = Math.max(320, container.clientWidth || 640);
  const height = PAD * 2 + laneCount * ROW + 40;
  const end = Math.max(1, ...graph.nodes.map((n) => n.end_time));
  const x = (t) => PAD + ((width - 2 * PAD) * t) / end;
  const y = (node) => PAD + 40 + ROW * (lanes.has(node.storyline_id) ? lanes.get(node.storyline_id) : laneCount - 1);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", class: "story-graph__svg" });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const colours = new Map(graph.storylines.map((s) => [s.id, s.color]));
  for (const edge of graph.edges.slice(0, MAX_EDGES)) {
    const a = byId.get(edge.source), b = byId.get(edge.target);
    if (!a || !b) continue;
    const x1 = x((a.start_time + a.end_time) / 2), x2 = x((b.start_time + b.end_time) / 2);
    const y1 = y(a), y2 = y(b);
    const lift = Math.min(40, Math.abs(x2 - x1) / 3 + 6);
    const path = el("path", {
      d: `M${x1},${y1} C${x1},${Math.min(y1, y2) - lift} ${x2},${Math.min(y1, y2) - lift} ${x2},${y2}`,
      fill: "none",
      stroke: edge.kind === "causal" ? "#e15759" : "#888",
      "stroke-opacity": 0.15 + 0.75 * edge.weight,
      "stroke-width": 0.5 + 2.5 * edge.weight,
      "stroke-dasharray": edge.kind === "causal" ? "4 3" : "",
      "data-testid": "graph-edge",
    });
    path.append(el("title", {}, `${edge.source} – ${edge.target}: ${edge.weight.toFixed(2)}; ${edge.why.join("; ")}`));
    svg.append(path);
  }
  for (const node of graph.nodes) {
    const rect = el("rect", {
      x: x(node.start_time), y: y(node) - 8, height: 16, rx: 3,
      width: Math.max(2, x(node.end_time) - x(node.start_time) - 1),
      fill: colours.get(node.storyline_id) || "#bbb",
      "fill-opacity": 0.45 + 0.55 * (node.interest ?? 0.5),
      "data-testid": "graph-node",
    });
    const interest = node.interest == null ? "" : `, interest ${node.interest.toFixed(2)}`;
    rect.append(el("title", {}, `${node.id} ${clock(node.start_time)}–${clock(node.end_time)}${interest}`));
    svg.append(rect);
  }
  for (const [id, lane] of lanes) {
    const story = graph.storylines.find((s) => s.id === id);
    svg.append(el("text", { x: PAD, y: PAD + 40 + ROW * lane - 11, class: "story-graph__lane", "font-size": 11 }, story.name));
  }
  container.append(svg);
}

async function load(section) {
  const response = await fetch(section.dataset.graphUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const graph = await response.json();
  const canvas = section.querySelector("#story-graph-canvas");
  const facts = section.querySelector("#story-graph-facts");
  if (!graph.nodes.length) {
    canvas.replaceChildren();
    facts.textContent = "The graph appears when the analysis is complete.";
    return;
  }
  drawGraph(canvas, graph);
  const weights = Object.entries(graph.weights || {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`);
  facts.textContent = `${graph.nodes.length} scenes, ${graph.edges.length} links; preset ${graph.preset || "–"}; weights: ${weights.join(", ")}`;
}

function listen(section) {
  const url = new URL(`/ws/analyses/${section.dataset.analysisId}/`, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let socket;
  try {
    socket = new WebSocket(url);
  } catch {
    return;
  }
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "storyline.changed" || (data.type === "progress" && data.status === "completed")) load(section);
  });
}

const section = document.getElementById("story-graph");
if (section) {
  load(section);
  listen(section);
}
