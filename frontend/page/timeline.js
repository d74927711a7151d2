// The timeline: every published month on one scale, each side's month set on it with a mouse, a
// finger or the keys (one slider per side: the left month above the scale, the right one below),
// and play/pause with its speed and the side(s) that play.
import { lang, monthName, monthShort, number, t } from "./i18n.js";
import { months } from "./months.js";
import { setupPlay, startPlay, stopPlay } from "./play.js";
import { state, writeUrl } from "./state.js";

const $ = (id) => document.getElementById(id);
const SIDES = ["right", "left", "both"], SPEEDS = [0.5, 1, 2];  // seconds per month
let choose;

const ids = () => months.map((m) => m.month);

/** A month's mark under the scale: the year in January, else the month ("juil." or, narrower, "J"). */
function tickLabel(id, cell) {
  return id.endsWith("-01") && cell >= 30 ? id.slice(0, 4) : monthShort(id, cell);
}

/** Draw the scale, both sides' months on it and the play controls, for the state and language. */
export function renderTimeline() {
  const list = ids(), n = Math.max(1, list.length), cell = $("scale").clientWidth / n;
  $("ticks").replaceChildren(...list.map((id, i) => {
    const li = document.createElement("li");
    li.textContent = cell < 12 && i % Math.ceil(12 / cell) ? "" : tickLabel(id, cell);
    li.classList.toggle("year", id.endsWith("-01"));
    // Placed through the CSSOM: the page's Content Security Policy refuses inline style attributes.
    Object.assign(li.style, { left: `${(i * 100) / n}%`, width: `${100 / n}%` });
    return li;
  }));
  for (const side of ["left", "right"]) {
    const lane = $(`lane-${side}`), i = list.indexOf(state[side]);
    lane.setAttribute("aria-valuemax", String(n));
    lane.setAttribute("aria-valuenow", String(i + 1));
    lane.setAttribute("aria-valuetext", monthName(state[side]));
    lane.style.backgroundSize = `${100 / n}% 100%`;
    lane.firstElementChild.style.left = `${((i + 0.5) * 100) / n}%`;
    lane.firstElementChild.textContent = t(`${side}Letter`);
  }
  const play = $("play");
  play.textContent = t(state.playing ? "pause" : "play");
  play.classList.toggle("playing", state.playing);
  play.disabled = list.length < 2;
  const speed = $("speed");
  if (speed.dataset.lang !== lang) {  // written again only in another language (an open list stays open)
    speed.replaceChildren(...SPEEDS.map((s) => new Option(t("seconds", { n: number(s, 1) }), s)));
    speed.dataset.lang = lang;
  }
  speed.value = String(state.speed);
  $("play-side").value = state.play;
}

/** Listen to a side's slider: pointer (mouse, pen, touch) and keys. */
function wireLane(side) {
  const lane = $(`lane-${side}`);
  const at = (x) => {
    const r = lane.getBoundingClientRect(), list = ids();
    return list[Math.min(list.length - 1, Math.max(0, Math.floor(((x - r.left) / r.width) * list.length)))];
  };
  lane.addEventListener("pointerdown", (e) => {
    try { lane.setPointerCapture(e.pointerId); } catch { /* synthetic or already released pointer */ }
    lane.focus();
    choose(side, at(e.clientX));
    const move = (ev) => choose(side, at(ev.clientX));
    const up = () => { for (const [k, f] of [["pointermove", move], ["pointerup", up], ["pointercancel", up]]) lane.removeEventListener(k, f); };
    lane.addEventListener("pointermove", move);
    lane.addEventListener("pointerup", up);
    lane.addEventListener("pointercancel", up);
    e.preventDefault();
  });
  lane.addEventListener("keydown", (e) => {
    const list = ids(), i = list.indexOf(state[side]);
    const to = { ArrowLeft: i - 1, ArrowDown: i - 1, ArrowRight: i + 1, ArrowUp: i + 1, PageDown: i - 12, PageUp: i + 12,
      Home: 0, End: list.length - 1 }[e.key];
    if (to === undefined) return;
    choose(side, list[Math.min(list.length - 1, Math.max(0, to))]);
    e.preventDefault();
  });
}

function setPlaying(on) {
  if (on) startPlay(); else stopPlay();
  renderTimeline();
  writeUrl();
}

/** Wire the timeline: `setMonth(side, id)` shows a month on a side, `refresh()` shows the state. */
export function setupTimeline(map, setMonth, refresh) {
  choose = (side, id) => { if (id && id !== state[side]) setMonth(side, id); };
  setupPlay(map, refresh);
  if (!SIDES.includes(state.play)) state.play = "right";
  if (!SPEEDS.includes(state.speed)) state.speed = 1;
  for (const side of ["left", "right"]) wireLane(side);
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("speed").addEventListener("change", (e) => { state.speed = +e.target.value; setPlaying(state.playing); });
  $("play-side").addEventListener("change", (e) => { state.play = e.target.value; setPlaying(state.playing); });
  new ResizeObserver(renderTimeline).observe($("scale"));
  // A shared link that was playing plays again once the map is drawn.
  if (state.playing && ids().length > 1) map.once("idle", () => setPlaying(true));
  else state.playing = false;
  renderTimeline();
}
