// Play: one side, or both, step through the published months at the chosen speed. A month shows
// only once its tiles for the current view are loaded, so no frame is ever blank: its layers join
// the map beforehand at opacity 0 (MapLibre loads the tiles of such a layer but draws nothing),
// and the style that then shows the month keeps them, tiles and all (their ids name what they show).
import { months } from "./months.js";
import { state } from "./state.js";
import { sideLayers, style } from "./style.js";

let map, show, run = 0;

/** The months one step on from the state's, for the side(s) that play (after the last: the first). */
export function nextMonths(s = state) {
  const ids = months.map((m) => m.month);
  const sides = s.play === "both" ? ["left", "right"] : [s.play];
  return Object.fromEntries(sides.map((side) => [side, ids[(ids.indexOf(s[side]) + 1) % ids.length]]));
}

/** Add, invisible, the layers that `next` shows and the map lacks, each right after the layer of the
 * same role that it will replace (so that the style diff neither moves nor reloads it). Their ids. */
function preload(next) {
  const wanted = style(next), order = map.getLayersOrder();
  const current = Object.values(sideLayers()).flat();
  const ids = [];
  for (const layer of wanted.layers) {
    if (!(layer.id in wanted.sources)) continue;  // borders and names: already there
    ids.push(layer.id);
    if (map.getLayer(layer.id)) continue;
    const role = layer.id.split(":")[0];
    const replaced = current.find((id) => id.split(":")[0] === role);
    const before = replaced ? order[order.indexOf(replaced) + 1] : undefined;
    if (!map.getSource(layer.id)) map.addSource(layer.id, wanted.sources[layer.id]);
    map.addLayer({ ...layer, paint: { ...layer.paint, "raster-opacity": 0 } }, before);
  }
  return ids;
}

/** Resolves once the next step's tiles cover the current view (checked after each frame and when
 * idle), with the months it shows; with null once playing stopped. The next step is worked out from
 * the state at each check: a month, preset or mode changed meanwhile is taken into account. */
function ready(mine) {
  return new Promise((done) => {
    const check = () => {
      if (run !== mine) return finish(null);
      if (map.isMoving()) return;
      const step = nextMonths();
      if (preload({ ...state, ...step }).every((id) => map.isSourceLoaded(id))) finish(step);
    };
    const finish = (step) => { map.off("render", check); map.off("idle", check); done(step); };
    map.on("render", check);
    map.on("idle", check);
    check();
    map.triggerRepaint();
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function loop(mine) {
  while (run === mine) {
    preload({ ...state, ...nextMonths() });
    await sleep(state.speed * 1000);
    const step = await ready(mine);
    if (!step) return;
    Object.assign(state, step);
    show();
  }
}

/** Remember the map and what shows a new state (the page's refresh). */
export function setupPlay(m, refresh) { map = m; show = refresh; }

/** Start (or restart, after a change of speed or sides) stepping through the months. */
export function startPlay() {
  state.playing = true;
  loop(++run);
}

/** Stop; the month loaded in advance goes (the style without it). */
export function stopPlay() {
  const was = state.playing;
  state.playing = false;
  run++;
  if (was) show();
}
