// Scene search box (templates/frontend/_search.html): queries /api/search and lists the scenes
// found, each linking to the analysis page at the matching moment (?t=seconds). On an analysis
// page a hit of the same analysis seeks the player in place, and ?t= in the address is honoured.

const box = document.querySelector("[data-testid='scene-search']");
const player = document.getElementById("player");

function clock(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

function seek(seconds) {
  if (!player) return;
  const go = () => {
    player.currentTime = seconds;
    player.play?.().catch(() => {});
  };
  if (player.readyState >= 1) go();
  else player.addEventListener("loadedmetadata", go, { once: true });
}

function startFromAddress() {
  const t = Number.parseFloat(new URLSearchParams(window.location.search).get("t") || "");
  if (Number.isFinite(t) && t >= 0) seek(t);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const MATCH_WORDS = {
  keyword: "words",
  typo: "similar spelling",
  semantic: "meaning",
  tags: "who and what is seen",
  visual: "picture",
};

function hitItem(hit, currentAnalysis) {
  const item = element("li");
  const link = element("a", "scene-search__hit");
  link.href = hit.url;
  link.dataset.testid = "search-hit";
  link.dataset.sceneId = hit.scene_id;
  const image = element("img");
  image.alt = "";
  image.loading = "lazy";
  if (hit.thumbnail_url) image.src = hit.thumbnail_url;
  const body = element("span");
  const how = hit.matched_by.map((kind) => MATCH_WORDS[kind] || kind).join(", ");
  const number = Number(String(hit.scene_id).split("_").pop());
  const scene = Number.isFinite(number) ? `Scene ${number}` : hit.scene_id;
  const where = `${hit.video_name} · ${scene} · ${clock(hit.time)}`;
  body.append(
    element("span", "scene-search__snippet", hit.snippet || "(no text)"),
    element("span", "scene-search__meta", `${where} · ${hit.field} · matched by ${how}`),
  );
  link.append(image, body);
  if (hit.analysis_id === currentAnalysis && player) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      history.replaceState(null, "", hit.url);
      seek(hit.time);
    });
  }
  item.append(link);
  return item;
}

async function runSearch(form, status, list, currentAnalysis) {
  const data = new FormData(form);
  const query = String(data.get("q") || "").trim();
  if (!query) return;
  const params = new URLSearchParams({ q: query });
  if (currentAnalysis && data.get("scope") !== "library") params.set("analysis", currentAnalysis);
  status.textContent = "Searching…";
  list.replaceChildren();
  try {
    const response = await fetch(`/api/search?${params}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error(body?.detail || `The search failed (${response.status}).`);
    const hits = body.results || [];
    status.textContent = hits.length
      ? `${hits.length} scene${hits.length === 1 ? "" : "s"} found`
      : "No scene matches.";
    list.replaceChildren(...hits.map((hit) => hitItem(hit, currentAnalysis)));
  } catch (error) {
    status.textContent = error.message || "The search failed.";
  }
}

/** Put the query (and scope) in the address, so a search can be shared, reloaded, gone back to. */
function rememberInAddress(form) {
  const data = new FormData(form);
  const params = new URLSearchParams(window.location.search);
  params.set("q", String(data.get("q") || "").trim());
  if (data.has("scope")) params.set("scope", String(data.get("scope")));
  params.delete("t");
  history.pushState(null, "", `${window.location.pathname}?${params}${window.location.hash}`);
}

/** Fill the form from the address; true when there is a query to run. */
function restoreFromAddress(form) {
  const params = new URLSearchParams(window.location.search);
  const query = (params.get("q") || "").trim();
  form.elements.q.value = query;
  const scope = params.get("scope");
  if (scope && form.elements.scope) form.elements.scope.value = scope === "library" ? "library" : "analysis";
  return Boolean(query);
}

if (box) {
  const form = box.querySelector("form");
  const status = box.querySelector("[data-testid='search-status']");
  const list = box.querySelector("[data-testid='search-results']");
  const currentAnalysis = box.dataset.analysis || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    rememberInAddress(form);
    runSearch(form, status, list, currentAnalysis);
  });
  window.addEventListener("popstate", () => {
    if (restoreFromAddress(form)) runSearch(form, status, list, currentAnalysis);
    else {
      status.textContent = "";
      list.replaceChildren();
    }
  });
  if (restoreFromAddress(form)) runSearch(form, status, list, currentAnalysis);
  if (currentAnalysis) startFromAddress();
}
