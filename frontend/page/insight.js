// How far to trust the comparison and where it changed: the share of the view valid in both
// months (/api/valid, one small request once the view settles) and the "biggest changes" list
// (/api/changes), whose items fly to their area in difference mode.
import { number, percent, t } from "./i18n.js";
import { month } from "./months.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
const MODE = { ndvi_loss: "ndvi", ndvi_gain: "ndvi", magnitude: "magnitude" };
let map, refresh, validTimer, validAbort, changesGen = 0, changesTimer, changesShown = "";

/** The two shown months' path and their builds (answers for named builds are cached for good). */
function pair() {
  const [a, b] = [state.left, state.right];
  return [`${a}/${b}`, `build_a=${month(a).build_id}&build_b=${month(b).build_id}`];
}

/** The map's view as west,south,east,north (degrees, within the API's range), or null. */
export function viewBbox() {
  const b = map.getBounds();
  const w = Math.max(-180, b.getWest()), e = Math.min(180, b.getEast());
  const s = Math.max(-85.05, b.getSouth()), n = Math.min(85.05, b.getNorth());
  return w < e && s < n ? [w, s, e, n].map((v) => v.toFixed(4)).join(",") : null;
}

function showValid(body) {
  const out = $("valid");
  if (!body) { out.textContent = t("validUnknown"); out.removeAttribute("title"); return; }
  out.textContent = t("validShare", { pct: percent(body.valid_share * 100) });
  const s = body.shares;
  out.title = t("validReasons", { cloud: percent(s.cloud * 100), snow: percent(s.snow * 100), nodata: percent(s.no_data * 100) });
}

let lastValid = null, validUrl = "";
async function askValid() {
  const bbox = viewBbox();
  if (!bbox || !month(state.left) || !month(state.right)) return;
  const [path, pins] = pair(), url = `/api/valid/${path}?bbox=${bbox}&${pins}`;
  if (url === validUrl) return;  // a change of preset or mode: same view, same months
  validUrl = url;
  validAbort?.abort();
  validAbort = new AbortController();
  try {
    const r = await fetch(url, { signal: validAbort.signal });
    lastValid = r.ok ? await r.json() : null;
  } catch (err) {
    if (err.name === "AbortError") return;
    lastValid = null;
  }
  showValid(lastValid);
}

/** Ask for the valid share once the view (or the months) settled for a moment. */
function validSoon() {
  clearTimeout(validTimer);
  validTimer = setTimeout(askValid, 250);
}

function flyTo(feature, kind) {
  const mode = MODE[kind];
  if (state.mode !== mode) { state.mode = mode; $("mode").value = mode; refresh(); }
  const [w, s, e, n] = feature.bbox, padding = { top: 40, bottom: 40, left: 40, right: 40 };
  // The list's panel, where it lies over the map (a large screen), is kept off the area.
  const panel = $("changes").querySelector(".panel").getBoundingClientRect(), box = map.getContainer().getBoundingClientRect();
  if (panel.width && panel.bottom > box.top) {
    if (panel.left - box.left < box.right - panel.right) padding.left += panel.right - box.left;
    else padding.right += box.right - panel.left;
  }
  map.fitBounds([[w, s], [e, n]], { padding, animate: !reducedMotion.matches, essential: true });
  const header = document.querySelector("header");  // on a phone the settings fold away over the map
  if (header.classList.contains("open")) { header.classList.remove("open"); $("menu").setAttribute("aria-expanded", "false"); }
}

function renderChanges(fc, kind) {
  const items = fc.features.map((f) => {
    const p = f.properties, li = document.createElement("li"), button = document.createElement("button");
    button.type = "button";
    button.textContent = t("changeItem", { area: number(p.area_km2, p.area_km2 < 10 ? 1 : 0), change: number(p.mean_change, 2, true) });
    button.addEventListener("click", () => flyTo(f, kind));
    li.append(button);
    return li;
  });
  $("changes-list").replaceChildren(...items);
  $("changes-note").textContent = items.length ? "" : t("noChanges");
}

/** Load the list for the shown months and kind (asked again while the server computes it). */
async function loadChanges() {
  const kind = $("change-kind").value, gen = ++changesGen;
  clearTimeout(changesTimer);
  if (!month(state.left) || !month(state.right)) return;
  const [path, pins] = pair();
  changesShown = `${path}/${kind}`;
  $("changes-list").replaceChildren();
  $("changes-note").textContent = t("loading");
  try {
    const r = await fetch(`/api/changes/${path}?kind=${kind}&limit=10&${pins}`);
    if (gen !== changesGen) return;
    if (r.status === 202) {
      $("changes-note").textContent = t("changesComputing");
      changesTimer = setTimeout(loadChanges, 1000 * Math.min(10, +r.headers.get("Retry-After") || 2));
      return;
    }
    const body = await r.json();
    if (gen !== changesGen) return;
    if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${r.status}`);
    renderChanges(body, kind);
  } catch (err) {
    if (gen === changesGen) $("changes-note").textContent = t("changesFailed", { error: err.message });
  }
}

/** The months (or the language) changed: the share and the open list follow. */
export function updateInsight() {
  if (!map) return;
  validSoon();
  if ($("changes").open && changesShown !== `${pair()[0]}/${$("change-kind").value}`) loadChanges();
}

/** Texts again in the page's language. */
export function translateInsight() {
  if (map) showValid(lastValid);
  if ($("changes").open) { changesShown = ""; loadChanges(); }
}

export function setupInsight(theMap, refreshPage) {
  map = theMap;
  refresh = refreshPage;
  map.on("moveend", validSoon);
  $("changes").addEventListener("toggle", updateInsight);
  $("change-kind").addEventListener("change", loadChanges);
  $("lang").addEventListener("click", translateInsight);  // after the page's own switch
  $("export").addEventListener("toggle", () => import("./export.js").then((x) => x.setupExport(map, viewBbox)), { once: true });
  validSoon();
}
