// The Mosaïque swipe page: two months of France side by side, a divider to drag.
// MapLibre GL comes from npm and is served by the app; every request stays on this origin.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";

// MapLibre's worker (a 0.5 MB module) starts now, while the months load, not when the maps do.
maplibregl.prewarm();

const $ = (id) => document.getElementById(id);
const ATTRIBUTION = "Contains modified Copernicus Sentinel data, processed by Theia/CNES (Sentinel-2 L3A)";
const DIFF_LEGEND = {
  ndvi: { title: "NDVI change", from: "-0.5 (loss)", to: "+0.5 (gain)", colors: "#8c510a, #f5f5f5, #01665e" },
  magnitude: { title: "Reflectance change", from: "0", to: "0.3", colors: "#000004, #bb3754, #fcffa4" },
};
const state = { left: null, right: null, preset: "truecolor", mode: "swipe", validity: false, opacity: 1,
  divider: 50, orient: "vertical", lng: 2.5, lat: 46.5, zoom: 5 };
let months = [];

function status(text) { $("status").textContent = text || ""; }

function readUrl() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const key of ["left", "right", "preset", "mode", "orient"]) if (p.has(key)) state[key] = p.get(key);
  for (const key of ["divider", "lng", "lat", "zoom", "opacity"]) if (p.has(key) && !isNaN(+p.get(key))) state[key] = +p.get(key);
  if (p.has("validity")) state.validity = p.get("validity") === "1";
}

function writeUrl() {
  const p = new URLSearchParams({ left: state.left, right: state.right, preset: state.preset, mode: state.mode,
    validity: state.validity ? "1" : "0", opacity: state.opacity, divider: state.divider.toFixed(1),
    orient: state.orient, lng: state.lng.toFixed(5), lat: state.lat.toFixed(5), zoom: state.zoom.toFixed(2) });
  history.replaceState(null, "", `#${p}`);
}

function month(id) { return months.find((m) => m.month === id); }

// Tile fetches: at most 6 at a time (the browser's connections to one server), 3 per side: the
// map asks for the left month's first screen before the right one's, and with no share of its
// own the right side's first tiles would wait behind all of the left's.
const PER_SIDE = 3;
const queues = { left: [], right: [] };
const inFlight = { left: 0, right: 0 };

function pump(side) {
  while (inFlight[side] < PER_SIDE && queues[side].length) {
    const job = queues[side].shift();
    if (job.signal.aborted) { job.reject(new DOMException("tile no longer needed", "AbortError")); continue; }
    inFlight[side]++;
    fetch(job.url, { signal: job.signal })
      .then(async (r) => {
        if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
        return { data: await r.arrayBuffer() };
      })
      .then(job.resolve, job.reject)
      .finally(() => { inFlight[side]--; pump(side); });
  }
}

for (const side of ["left", "right"]) {
  maplibregl.addProtocol(`tiles-${side}`, (params, abort) => new Promise((resolve, reject) => {
    queues[side].push({ url: params.url.slice(`tiles-${side}://`.length), signal: abort.signal, resolve, reject });
    pump(side);
  }));
}

function tilesFor(id) {
  const m = month(id);
  if (state.mode !== "swipe") {
    const [a, b] = [state.left, state.right];
    const pins = `build_a=${month(a).build_id}&build_b=${month(b).build_id}`;
    return { url: `/diff/${a}/${b}/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=${state.mode}&${pins}`, maxzoom: m.maxzoom };
  }
  // True colour: the stored JPEG blocks where a tile is full, PNG where it has transparent no data.
  const url = state.preset === "truecolor" ? m.links.stored : m.links.presets[state.preset].tiles;
  return { url: url.replace(location.origin, ""), maxzoom: m.maxzoom };
}

// One map, one WebGL context for both months: the left month's layers, then the right month's
// inside a scissor box right of (or below) the divider, cleared first so the left month does not
// show through where the right one has no data. Two maps cost two contexts, each with its own
// shaders, frames and compositor copies (in a software-rendering browser, the bulk of the time to
// the first tiles). Moving the divider redraws the tiles already there: it never asks for tiles.
function raster(id, url, maxzoom, bounds) {
  return [{ type: "raster", tiles: [url], tileSize: 256, maxzoom, bounds, attribution: ATTRIBUTION },
    { id, type: "raster", source: id, paint: { "raster-opacity": state.opacity, "raster-fade-duration": 0 } }];
}

// Tiles appear at once: a fade would redraw the map for 300 ms after every tile. No background
// layer: the map container's CSS background shows through the transparent canvas.
function style() {
  const sides = state.mode === "swipe" ? ["left", "right"] : ["left"];
  const sources = {}, layers = [];
  for (const side of sides) {
    const m = month(state[side]);
    const base = tilesFor(state[side]);
    const [source, layer] = raster(side, `tiles-${side}://${base.url}`, base.maxzoom, m.bounds);
    sources[side] = source;
    layers.push(layer);
    if (state.validity) {
      const [vsource, vlayer] = raster(`validity-${side}`, `tiles-${side}://${m.links.presets.validity.tiles.replace(location.origin, "")}`,
        m.maxzoom, m.bounds);
      sources[vlayer.id] = vsource;
      layers.push({ ...vlayer, paint: { "raster-fade-duration": 0 } });
    }
  }
  return { version: 8, sources, layers };
}

const SWIPE = [
  { id: "swipe-start", type: "custom", render(gl) {
    const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight, f = state.divider / 100;
    gl.enable(gl.SCISSOR_TEST);
    if (state.orient === "vertical") gl.scissor(Math.round(w * f), 0, w, h);
    else gl.scissor(0, 0, w, Math.round(h * (1 - f)));  // GL counts rows from the bottom
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
  } },
  { id: "swipe-end", type: "custom", render(gl) { gl.disable(gl.SCISSOR_TEST); } },
];

// The scissor layers around the right month's layers. Custom layers are not part of a style
// document: they are placed again after every style change, and every layer put back in order
// (a style diff appends a changed layer at the end).
function placeSwipe() {
  const swipe = state.mode === "swipe";
  for (const layer of SWIPE) {
    if (swipe && !map.getLayer(layer.id)) map.addLayer(layer);
    if (!swipe && map.getLayer(layer.id)) map.removeLayer(layer.id);
  }
  if (!swipe) return;
  const ids = style().layers.map((l) => l.id);
  ids.splice(ids.indexOf("right"), 0, "swipe-start");
  for (const id of [...ids, "swipe-end"]) map.moveLayer(id);
}

function makeMap() {
  const m = new maplibregl.Map({ container: "map", style: style(), center: [state.lng, state.lat], zoom: state.zoom,
    attributionControl: { compact: false }, maxZoom: 16, fadeDuration: 0 });
  m.on("error", (e) => status(`Tiles could not be loaded (${e.error?.status || e.error?.message || "error"})`));
  m.on("click", (e) => showPixel(e.lngLat));
  m.on("style.load", placeSwipe);
  m.on("moveend", () => {
    const c = m.getCenter();
    Object.assign(state, { lng: c.lng, lat: c.lat, zoom: m.getZoom() });
    writeUrl();
  });
  return m;
}

let map;

function placeDivider() {
  const maps = $("maps"), d = $("divider");
  const vertical = state.orient === "vertical";
  maps.classList.toggle("horizontal", !vertical);
  d.setAttribute("aria-valuenow", String(Math.round(state.divider)));
  d.setAttribute("aria-orientation", vertical ? "horizontal" : "vertical");
  d.style.left = vertical ? `${state.divider}%` : "";
  d.style.top = vertical ? "" : `${state.divider}%`;
  map?.triggerRepaint();  // the scissor box follows; the tiles are already there
}

function setDivider(value) {
  state.divider = Math.min(100, Math.max(0, value));
  placeDivider();
  writeUrl();
}

function dragDivider() {
  const d = $("divider");
  d.addEventListener("pointerdown", (e) => {
    try { d.setPointerCapture(e.pointerId); } catch { /* synthetic or already released pointer */ }
    const rect = $("maps").getBoundingClientRect();
    const move = (ev) => setDivider(state.orient === "vertical"
      ? ((ev.clientX - rect.left) / rect.width) * 100 : ((ev.clientY - rect.top) / rect.height) * 100);
    const up = () => { d.removeEventListener("pointermove", move); d.removeEventListener("pointerup", up); };
    d.addEventListener("pointermove", move);
    d.addEventListener("pointerup", up);
    e.preventDefault();
  });
  d.addEventListener("keydown", (e) => {
    const step = e.shiftKey ? 10 : 2;
    const delta = { ArrowLeft: -step, ArrowDown: step, ArrowRight: step, ArrowUp: -step, Home: -100, End: 100 }[e.key];
    if (delta === undefined) return;
    setDivider(state.divider + delta);
    e.preventDefault();
  });
}

function legend() {
  const box = $("legend");
  const info = DIFF_LEGEND[state.mode];
  box.hidden = !info;
  if (!info) return;
  box.innerHTML = `<strong>${info.title}</strong> (${state.left} → ${state.right})
    <div class="bar"></div>
    <div class="ticks"><span>${info.from}</span><span>${info.to}</span></div>`;
  // Set through the CSSOM: the page's Content Security Policy refuses inline style attributes.
  box.querySelector(".bar").style.background = `linear-gradient(to right, ${info.colors})`;
}

function refresh() {
  $("maps").classList.toggle("difference", state.mode !== "swipe");
  map.setStyle(style());
  if (map.isStyleLoaded()) placeSwipe();
  legend();
  writeUrl();
}

async function showPixel(lngLat) {
  const box = $("chart");
  box.hidden = false;
  box.textContent = "Loading…";
  try {
    const r = await fetch(`/api/point/${lngLat.lng.toFixed(5)},${lngLat.lat.toFixed(5)}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const { months: series } = await r.json();
    const valid = series.filter((s) => s.ndvi !== null);
    if (!valid.length) { box.textContent = "No data here."; return; }
    const w = 300, h = 120, pad = 24;
    const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, series.length - 1);
    const y = (v) => h - pad - ((v + 0.2) / 1.2) * (h - 2 * pad);
    const points = series.map((s, i) => (s.ndvi === null ? "" :
      `<circle class="ndvi-point" cx="${x(i)}" cy="${y(s.ndvi)}" r="4" fill="#2a7d2a"><title>${s.month}: NDVI ${s.ndvi}</title></circle>`)).join("");
    const rgb = ["B4", "B3", "B2"].map((b, k) => `<polyline fill="none" stroke="${["#c33", "#3a3", "#36c"][k]}" points="${
      series.map((s, i) => (s.reflectance[b] === null ? "" : `${x(i)},${y(s.reflectance[b])}`)).join(" ")}"/>`).join("");
    box.innerHTML = `<strong>${lngLat.lat.toFixed(4)} N, ${lngLat.lng.toFixed(4)} E</strong>
      <svg width="${w}" height="${h}" role="img" aria-label="NDVI and red, green, blue reflectance by month">
        <line x1="${pad}" x2="${w - pad}" y1="${y(0)}" y2="${y(0)}" stroke="#aaa"/>${rgb}${points}</svg>
      <table><tr><th>month</th><th>NDVI</th><th>flag</th><th>day</th></tr>${series.map((s) =>
        `<tr><td>${s.month}</td><td>${s.ndvi ?? "–"}</td><td>${s.flag_name ?? "no data"}</td><td>${s.day_of_year ?? "–"}</td></tr>`).join("")}</table>`;
  } catch (err) {
    box.textContent = `Could not query this point (${err.message}).`;
  }
}

async function main() {
  // MapLibre's own image request queue (16 by default) is lifted: the per-side queues above limit the fetches.
  maplibregl.setMaxParallelImageRequests(64);
  readUrl();
  status("Loading months…");
  try {
    const r = await fetch("/api/months");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    months = await r.json();
  } catch (err) {
    status(`The server cannot be reached (${err.message}).`);
    return;
  }
  if (!months.length) { status("No month is published yet."); return; }
  const ids = months.map((m) => m.month);
  const fallback = [ids.includes("2018-07") ? "2018-07" : ids.at(-2) ?? ids[0], ids.includes("2018-08") ? "2018-08" : ids.at(-1)];
  for (const [side, def] of [["left", fallback[0]], ["right", fallback[1]]]) {
    if (!ids.includes(state[side])) {
      if (state[side]) status(`Month ${state[side]} is not published; showing ${def}.`); else status("");
      state[side] = def;
    }
  }
  if (!location.hash) { const m = month(state.left); [state.lng, state.lat] = m.center; state.zoom = 5; }
  for (const side of ["left", "right"]) {
    $(side).innerHTML = ids.map((id) => `<option value="${id}">${id}</option>`).join("");
    $(side).value = state[side];
    $(side).addEventListener("change", (e) => { state[side] = e.target.value; refresh(); });
  }
  $("preset").value = state.preset;
  $("mode").value = state.mode;
  $("validity").checked = state.validity;
  $("opacity").value = state.opacity;
  map = makeMap();
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  $("preset").addEventListener("change", (e) => { state.preset = e.target.value; refresh(); });
  $("mode").addEventListener("change", (e) => { state.mode = e.target.value; refresh(); });
  $("validity").addEventListener("change", (e) => { state.validity = e.target.checked; refresh(); });
  $("opacity").addEventListener("input", (e) => {
    state.opacity = +e.target.value;
    for (const side of ["left", "right"]) if (map.getLayer(side)) map.setPaintProperty(side, "raster-opacity", state.opacity);
    writeUrl();
  });
  $("orient").addEventListener("click", () => { state.orient = state.orient === "vertical" ? "horizontal" : "vertical"; placeDivider(); writeUrl(); });
  $("fullscreen").addEventListener("click", () => document.fullscreenElement ? document.exitFullscreen() : $("maps").requestFullscreen());
  dragDivider();
  placeDivider();
  legend();
  $("maps").classList.toggle("difference", state.mode !== "swipe");
  writeUrl();
  // When each side showed its first tile, in ms since navigation (read by bench/page_bench.py).
  const firstTile = {};
  map.on("data", (e) => { if (e.tile && ["left", "right"].includes(e.sourceId) && !firstTile[e.sourceId]) firstTile[e.sourceId] = performance.now(); });
  // left and right: the one map of both sides (tests and benchmarks read them by side).
  window.mosaique = { map, left: map, right: map, state, firstTile };  // for tests, benchmarks and debugging
}

main();
