// The Mosaïque swipe page: two months of France side by side, a divider to drag, borders and
// place names above, a place search. MapLibre GL comes from npm and is served by the app; every
// request stays on this origin.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";
import { enableContext, showContext } from "./context.js";
import { dragDivider, placeDivider } from "./divider.js";
import { lang, t, toggleLang, translatePage } from "./i18n.js";
import { legend } from "./legend.js";
import { fallback, month, monthLabel, months, setMonths } from "./months.js";
import { readUrl, state, writeUrl } from "./state.js";
import * as status from "./status.js";
import { placeSwipe, sideLayers, style } from "./style.js";
import { setupInsight, updateInsight } from "./insight.js";
import { addTileProtocols } from "./tiles.js";
import { renderTimeline, setupTimeline } from "./timeline.js";

// MapLibre's worker (a 0.5 MB module) starts now, while the months load, not when the maps do.
maplibregl.prewarm();
addTileProtocols(maplibregl);

const $ = (id) => document.getElementById(id);
const FRANCE = [[-5.2, 41.3], [9.6, 51.1]];  // metropolitan France and Corsica
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
// Not needed for the first tiles: loaded once the map is made (fewer requests before it).
const chart = () => import("./chart.js");
let map, attribution, marker;

function restyle() {
  map.setStyle(style());
  try { placeSwipe(map); } catch { /* a full style reload: placed again on style.load */ }
}

function refresh() {
  updateInsight();  // the valid share and the changes list follow the months
  $("maps").classList.toggle("difference", state.mode !== "swipe");
  restyle();
  legend();
  for (const side of ["left", "right"]) $(side).value = state[side];
  renderTimeline();
  writeUrl();
}

function setMonth(side, id) {
  state[side] = id;
  status.clear(`missing-${side}`);
  refresh();
}

function fillPickers() {
  for (const side of ["left", "right"]) {
    $(side).replaceChildren(...months.map((m) => new Option(monthLabel(m.month), m.month)));
    $(side).value = state[side];
  }
}

function setAttribution() {
  if (attribution) map.removeControl(attribution);
  attribution = new maplibregl.AttributionControl({ customAttribution: t("attribution") });
  map.addControl(attribution, "bottom-right");
  // On a small screen MapLibre opens the compact attribution until the first drag, over a strip of
  // the map: keep it folded behind its (i) button from the start.
  const fold = () => {
    const compact = document.querySelector(".maplibregl-ctrl-attrib.maplibregl-compact");
    if (!compact) return;
    compact.classList.remove("maplibregl-compact-show");
    map.off("data", fold);
  };
  map.on("data", fold);
  fold();  // added again (a change of language): no data event may come soon
}

function switchLanguage() {
  toggleLang();
  fillPickers();
  legend();
  renderTimeline();
  placeDivider();
  status.render();
  chart().then((c) => c.redrawChart());
  setAttribution();
}

function makeMap(placed) {
  const view = placed ? { center: [state.lng, state.lat], zoom: state.zoom } : { bounds: FRANCE, fitBoundsOptions: { padding: 8 } };
  const m = new maplibregl.Map({ container: "map", style: style(), ...view, attributionControl: false, maxZoom: 16, fadeDuration: 0 });
  // A tile error shows until the map settles after loading tiles again with no new error.
  let failed = false, loaded = false;
  m.on("error", (e) => {
    failed = true;
    status.show("tiles", "tilesFailed", { error: e.error?.status ? `HTTP ${e.error.status}` : e.error?.message || "error" });
  });
  m.on("data", (e) => { if (e.tile) loaded = true; });
  m.on("idle", () => { if (loaded && !failed) status.clear("tiles"); failed = loaded = false; });
  m.on("click", (e) => chart().then((c) => c.showPixel(e.lngLat)));
  m.on("style.load", () => placeSwipe(m));
  m.on("moveend", () => {
    const c = m.getCenter();
    Object.assign(state, { lng: c.lng, lat: c.lat, zoom: m.getZoom() });
    writeUrl();
  });
  m.getCanvas().addEventListener("keydown", (e) => { if (e.key === "Enter") chart().then((c) => c.showPixel(m.getCenter())); });
  return m;
}

/** Borders and names join the style once the months show their first tiles (or the map settled). */
function contextAfterFirstTiles(firstTile) {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    enableContext();
    restyle();
  };
  map.on("data", (e) => {
    const sides = sideLayers(), side = Object.keys(sides).find((s) => sides[s][0] === e.sourceId);
    if (!e.tile || !side || firstTile[side]) return;
    firstTile[side] = performance.now();
    if (Object.keys(sides).every((s) => firstTile[s])) start();
  });
  map.once("idle", start);
}

function fly(place) {
  const to = { center: [place.lon, place.lat], zoom: place.zoom };
  if (reducedMotion.matches) map.jumpTo(to); else map.flyTo({ ...to, essential: true });
  marker?.remove();
  marker = new maplibregl.Marker({ color: "#ffbf00" }).setLngLat(to.center).addTo(map);
  marker.getElement().setAttribute("aria-label", place.name);
}

function wireControls() {
  for (const side of ["left", "right"]) {
    $(side).addEventListener("change", (e) => setMonth(side, e.target.value));
  }
  for (const key of ["preset", "mode"]) $(key).addEventListener("change", (e) => { state[key] = e.target.value; refresh(); });
  $("validity").addEventListener("change", (e) => { state.validity = e.target.checked; refresh(); });
  for (const key of ["borders", "names"]) {
    $(key).addEventListener("change", (e) => { state[key] = e.target.checked; showContext(map); writeUrl(); });
  }
  $("opacity").addEventListener("input", (e) => {
    state.opacity = +e.target.value;
    for (const [id] of Object.values(sideLayers())) map.setPaintProperty(id, "raster-opacity", state.opacity);
    writeUrl();
  });
  $("orient").addEventListener("click", () => {
    state.orient = state.orient === "vertical" ? "horizontal" : "vertical";
    placeDivider();
    writeUrl();
  });
  $("fullscreen").addEventListener("click", () => document.fullscreenElement ? document.exitFullscreen() : $("maps").requestFullscreen());
  $("lang").addEventListener("click", switchLanguage);
  const header = document.querySelector("header"), menu = $("menu");
  const fold = (open) => { header.classList.toggle("open", open); menu.setAttribute("aria-expanded", String(open)); };
  menu.addEventListener("click", () => fold(!header.classList.contains("open")));
  header.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && header.classList.contains("open") && !$("q").contains(e.target)) { fold(false); menu.focus(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("chart").hidden && $("chart").contains(document.activeElement)) chart().then((c) => c.hideChart());
  });
  import("./search.js").then((s) => s.setupSearch((place) => { fold(false); fly(place); }));
}

/** The published months, asked again until the server answers and has one. */
async function loadMonths() {
  for (;;) {
    try {
      const r = await fetch("/api/months");
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      setMonths(await r.json());
      status.clear("server");
      if (months.length) { status.clear("months"); return; }
      status.show("months", "noMonths");
    } catch (err) {
      status.show("server", "unreachable", { error: err.message });
    }
    status.clear("loading");
    await new Promise((done) => setTimeout(done, 5000));
  }
}

async function main() {
  // MapLibre's own image request queue (16 by default) is lifted: the per-side queues limit the fetches.
  maplibregl.setMaxParallelImageRequests(64);
  translatePage();
  const placed = readUrl();
  wireControls();
  status.show("loading", "loadingMonths");
  await loadMonths();
  status.clear("loading");
  for (const [side, other] of [["right", "left"], ["left", "right"]]) {
    if (month(state[side])) continue;
    const shown = fallback(side, month(state[other]) ? state[other] : null);
    if (state[side]) status.show(`missing-${side}`, "notPublished", { month: state[side], shown: monthLabel(shown) }, true);
    state[side] = shown;
  }
  fillPickers();
  $("preset").value = state.preset;
  $("mode").value = state.mode;
  for (const key of ["validity", "borders", "names"]) $(key).checked = state[key];
  $("opacity").value = state.opacity;
  map = makeMap(placed);
  setAttribution();
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  if (!placed) {
    const c = map.getCenter();
    Object.assign(state, { lng: c.lng, lat: c.lat, zoom: map.getZoom() });
  }
  dragDivider(() => map?.triggerRepaint());  // the scissor box follows; the tiles are already there
  placeDivider();
  legend();
  setupTimeline(map, setMonth, refresh);
  $("maps").classList.toggle("difference", state.mode !== "swipe");
  writeUrl();
  setupInsight(map, refresh);
  // When each side showed its first tile, in ms since navigation (read by bench/page_bench.py).
  const firstTile = {};
  contextAfterFirstTiles(firstTile);
  // left and right: the one map of both sides (tests and benchmarks read them by side).
  window.mosaique = { map, left: map, right: map, state, firstTile, get lang() { return lang; } };
}

main();
