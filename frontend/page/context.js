// Borders, coastline and place names above both months, from the app's own server (Natural Earth
// and GeoNames data installed with it). Added once both months show their first tiles, so their
// download and parsing never delay the imagery.
import { state } from "./state.js";

let ready = false;
const LINE = (color, width, extra = {}) => ({ "line-color": color, "line-width": width, ...extra });

/** The context sources and layers of the style (none before `enableContext`). */
export function contextLayers() {
  if (!ready) return { sources: {}, layers: [] };
  const visible = (on) => ({ visibility: on ? "visible" : "none" });
  const kind = (k) => ["==", ["get", "kind"], k];
  return {
    sources: {
      borders: { type: "geojson", data: "/api/context/borders", attribution: "Natural Earth" },
      places: { type: "geojson", data: "/api/places/labels", attribution: "GeoNames (CC BY 4.0)" },
    },
    layers: [
      { id: "border-casing", type: "line", source: "borders", filter: kind("border"), layout: visible(state.borders),
        paint: LINE("#000", 3.5, { "line-opacity": 0.45 }) },
      { id: "border", type: "line", source: "borders", filter: kind("border"), layout: visible(state.borders),
        paint: LINE("#fff", 1.5, { "line-dasharray": [4, 2] }) },
      { id: "coast", type: "line", source: "borders", filter: kind("coast"), layout: visible(state.borders),
        paint: LINE("#9fe3ff", 1.3) },
      // Cities of 15,000 inhabitants or more; towns of 5,000 from zoom 8, 1,000 from 10, all from 12.
      { id: "places", type: "symbol", source: "places",
        filter: [">=", ["get", "population"], ["step", ["zoom"], 15000, 8, 5000, 10, 1000, 12, 0]],
        layout: { ...visible(state.names), "text-field": ["get", "name"], "text-font": ["sans-serif"],
          "text-size": ["interpolate", ["linear"], ["get", "population"], 1000, 11, 100000, 13, 1000000, 16],
          "symbol-sort-key": ["-", ["get", "population"]], "text-padding": 3, "text-max-width": 9 },
        paint: { "text-color": "#fff", "text-halo-color": "#000", "text-halo-width": 1.6, "text-halo-blur": 0.5 } },
    ],
  };
}

/** From now on the style carries the context layers. */
export function enableContext() { ready = true; }

/** Show or hide borders and names without reloading them. */
export function showContext(map) {
  if (!ready) return;
  for (const id of ["border-casing", "border", "coast"]) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", state.borders ? "visible" : "none");
  if (map.getLayer("places")) map.setLayoutProperty("places", "visibility", state.names ? "visible" : "none");
}
