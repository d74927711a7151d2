// The map's style: the left month's layers, then the right month's inside a scissor box right of
// (or below) the divider, then the borders and place names above both.
//
// One map, one WebGL context for both months: the right month's layers are drawn inside a
// scissor box, cleared first so the left month does not show through where the right one has no
// data. Two maps cost two contexts, each with its own shaders, frames and compositor copies (in a
// software-rendering browser, the bulk of the time to the first tiles). Moving the divider
// redraws the tiles already there: it never asks for tiles.
import { month } from "./months.js";
import { state } from "./state.js";
import { contextLayers } from "./context.js";

// Each layer's id (its source's too) names its role and what it shows ("right:2018-08:truecolor"):
// a month loaded in advance keeps its tiles when the style that shows it replaces the current one.
function tilesFor(s, side) {
  const m = month(s[side]);
  if (s.mode !== "swipe") {
    const [a, b] = [s.left, s.right];
    const pins = `build_a=${month(a).build_id}&build_b=${month(b).build_id}`;
    return { url: `/diff/${a}/${b}/tiles/WebMercatorQuad/{z}/{x}/{y}.png?kind=${s.mode}&${pins}`, maxzoom: m.maxzoom,
      key: `${a}/${b}:${s.mode}:${month(a).build_id}/${month(b).build_id}` };
  }
  // True colour: the stored JPEG blocks where a tile is full, PNG where it has transparent no data.
  const url = s.preset === "truecolor" ? m.links.stored : m.links.presets[s.preset].tiles;
  return { url: url.replace(location.origin, ""), maxzoom: m.maxzoom, key: `${s[side]}:${s.preset}:${m.build_id}` };
}

// Tiles appear at once: a fade would redraw the map for 300 ms after every tile. Their attribution
// is the attribution control's own text (in the page's language).
function raster(id, url, maxzoom, bounds, paint) {
  return [{ type: "raster", tiles: [url], tileSize: 256, maxzoom, bounds },
    { id, type: "raster", source: id, paint: { "raster-fade-duration": 0, ...paint } }];
}

/** Each side's layers (and their sources) in drawing order, for the state `s`. */
function sideSpecs(s) {
  const sides = s.mode === "swipe" ? ["left", "right"] : ["left"];
  return Object.fromEntries(sides.map((side) => {
    const m = month(s[side]);
    const base = tilesFor(s, side);
    const layers = [raster(`${side}:${base.key}`, `tiles-${side}://${base.url}`, base.maxzoom, m.bounds, { "raster-opacity": s.opacity })];
    if (s.validity) {
      const flags = m.links.presets.validity.tiles.replace(location.origin, "");
      layers.push(raster(`validity-${side}:${s[side]}:${m.build_id}`, `tiles-${side}://${flags}`, m.maxzoom, m.bounds, {}));
    }
    return [side, layers];
  }));
}

/** Ids of each side's layers, in drawing order (the first: the month itself; then its validity overlay). */
export function sideLayers(s = state) {
  return Object.fromEntries(Object.entries(sideSpecs(s)).map(([side, layers]) => [side, layers.map(([, layer]) => layer.id)]));
}

/** The side ("left" or "right") a layer or source id belongs to, else undefined. */
export function sideOf(id) {
  return ["left", "right"].find((side) => id.startsWith(`${side}:`) || id.startsWith(`validity-${side}:`));
}

/** The style document for the state `s` (no background layer: the map container's CSS background shows through). */
export function style(s = state) {
  const sources = {}, layers = [];
  for (const [source, layer] of Object.values(sideSpecs(s)).flat()) {
    sources[layer.id] = source;
    layers.push(layer);
  }
  const context = contextLayers();
  Object.assign(sources, context.sources);
  layers.push(...context.layers);
  // No paint transition: a month loaded in advance at opacity 0 shows at once, never fading in from nothing.
  return { version: 8, sources, layers, transition: { duration: 0, delay: 0 } };
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

/** Put the scissor layers around the right month's layers, and every layer back in order.
 *
 * Custom layers are not part of a style document: they are placed again after every style
 * change (a style diff appends a changed layer at the end). */
export function placeSwipe(map) {
  const swipe = state.mode === "swipe";
  for (const layer of SWIPE) {
    if (swipe && !map.getLayer(layer.id)) map.addLayer(layer);
    if (!swipe && map.getLayer(layer.id)) map.removeLayer(layer.id);
  }
  const sides = sideLayers();
  const order = swipe ? [...sides.left, "swipe-start", ...sides.right, "swipe-end"] : [...sides.left];
  for (const id of [...order, ...contextLayers().layers.map((l) => l.id)]) if (map.getLayer(id)) map.moveLayer(id);
}
