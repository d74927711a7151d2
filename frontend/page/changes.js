// The "biggest changes" between the two shown months (/api/changes, asked again while the server
// computes it); a click or Enter on one flies there in difference mode, clear of the page's panels.
import { number, t } from "./i18n.js";
import { month } from "./months.js";
import { state } from "./state.js";
import { pair } from "./valid.js";

const $ = (id) => document.getElementById(id);
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
const MODE = { ndvi_loss: "ndvi", ndvi_gain: "ndvi", magnitude: "magnitude" };
let map, refresh, gen = 0, timer, shown = "", note = ["", {}], list = null;

function say(key, vars = {}) {
  note = [key, vars];
  $("changes-note").textContent = key ? t(key, vars) : "";
}

/** Padding that keeps `bounds` clear of what lies over the map (the list's panel, the legend): each
 * overlay is cleared on the side that leaves the area largest. */
function padding(bounds) {
  const box = map.getContainer().getBoundingClientRect(), pad = { top: 40, bottom: 40, left: 40, right: 40 };
  const [a, b] = bounds.map((p) => map.project(p)), w = Math.abs(b.x - a.x) || 1, h = Math.abs(b.y - a.y) || 1;
  const scale = (p) => Math.min((box.width - p.left - p.right) / w, (box.height - p.top - p.bottom) / h);
  for (const el of [$("changes").querySelector(".panel"), $("legend")]) {
    const r = el.getBoundingClientRect();
    if (!r.width || r.bottom <= box.top || r.top >= box.bottom || r.right <= box.left || r.left >= box.right) continue;
    const cut = { left: r.right - box.left, right: box.right - r.left, top: r.bottom - box.top, bottom: box.bottom - r.top };
    const options = Object.keys(cut).map((side) => ({ ...pad, [side]: Math.max(pad[side], cut[side] + 12) }));
    const best = options.reduce((x, y) => (scale(x) >= scale(y) ? x : y));
    if (scale(best) > 0) Object.assign(pad, best);
  }
  return pad;
}

function flyTo(feature, kind) {
  const header = document.querySelector("header");  // on a phone the settings fold away over the map
  if (header.classList.contains("open")) { header.classList.remove("open"); $("menu").setAttribute("aria-expanded", "false"); }
  if (state.mode !== MODE[kind]) { state.mode = MODE[kind]; $("mode").value = state.mode; refresh(); }
  const [w, s, e, n] = feature.bbox, bounds = [[w, s], [e, n]];
  map.fitBounds(bounds, { padding: padding(bounds), animate: !reducedMotion.matches, essential: true });
}

function render() {
  const { features, kind } = list;
  $("changes-list").replaceChildren(...features.map((f) => {
    const p = f.properties, li = document.createElement("li"), button = document.createElement("button");
    button.type = "button";
    button.textContent = t("changeItem", { area: number(p.area_km2, p.area_km2 < 10 ? 1 : 0), change: number(p.mean_change, 2, true) });
    button.addEventListener("click", () => flyTo(f, kind));
    li.append(button);
    return li;
  }));
  say(features.length ? "" : "noChanges");
}

/** Load the list for the shown months and kind. */
async function load() {
  const kind = $("change-kind").value, mine = ++gen;
  clearTimeout(timer);
  if (!month(state.left) || !month(state.right)) return;
  const [path, pins] = pair();
  shown = `${path}/${kind}`;
  list = null;
  $("changes-list").replaceChildren();
  if (state.playing) return say("changesPaused");  // each step would start an analysis of all France
  say("loading");
  try {
    const r = await fetch(`/api/changes/${path}?kind=${kind}&limit=10&${pins}`);
    const body = await r.json().catch(() => ({}));
    if (mine !== gen) return;
    if (r.status === 202) {
      say("changesComputing");
      timer = setTimeout(load, 1000 * Math.min(10, +r.headers.get("Retry-After") || 2));
    } else if (!r.ok) {
      say("changesFailed", { error: typeof body.detail === "string" ? body.detail : `HTTP ${r.status}` });
    } else {
      list = { features: body.features, kind };
      render();
    }
  } catch (err) {
    if (mine === gen) say("changesFailed", { error: err.message });
  }
}

/** The months changed (or play stopped): an open list follows. */
export function updateChanges() {
  const open = $("changes").open, wanted = month(state.left) && month(state.right) && `${pair()[0]}/${$("change-kind").value}`;
  if (open && (wanted !== shown || (!state.playing && note[0] === "changesPaused"))) load();
}

/** Texts again in the page's language. */
export function translateChanges() {
  if (list) render(); else say(...note);
}

export function setupChanges(theMap, refreshPage) {
  [map, refresh] = [theMap, refreshPage];
  $("changes").addEventListener("toggle", updateChanges);
  $("change-kind").addEventListener("change", load);
}
