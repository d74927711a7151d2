// What the page shows, and its round trip through the URL (the link a visitor shares).
export const state = { left: null, right: null, preset: "truecolor", mode: "swipe", validity: false, opacity: 1,
  divider: 50, orient: "vertical", borders: true, names: true, lng: null, lat: null, zoom: null,
  play: "right", speed: 1, playing: false };  // the timeline: which side(s) play, seconds per month, playing or not
const TEXT = ["left", "right", "preset", "mode", "orient", "play"], NUMBERS = ["divider", "lng", "lat", "zoom", "opacity", "speed"];
const FLAGS = ["validity", "borders", "names", "playing"];

/** Read the state from the URL's hash; true if it placed the view (centre and zoom). */
export function readUrl() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const key of TEXT) if (p.has(key)) state[key] = p.get(key);
  for (const key of NUMBERS) if (p.get(key) && !isNaN(+p.get(key))) state[key] = +p.get(key);
  for (const key of FLAGS) if (p.has(key)) state[key] = p.get(key) === "1";
  return state.lng !== null && state.lat !== null && state.zoom !== null;
}

export function writeUrl() {
  if (state.lng === null) return;  // not placed yet
  const p = new URLSearchParams({ left: state.left, right: state.right, preset: state.preset, mode: state.mode,
    validity: state.validity ? "1" : "0", opacity: state.opacity, divider: state.divider.toFixed(1),
    orient: state.orient, borders: state.borders ? "1" : "0", names: state.names ? "1" : "0",
    lng: state.lng.toFixed(5), lat: state.lat.toFixed(5), zoom: state.zoom.toFixed(2),
    play: state.play, speed: state.speed, playing: state.playing ? "1" : "0" });
  history.replaceState(null, "", `#${p}`);
}
