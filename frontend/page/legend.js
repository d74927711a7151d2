// What each side shows: the months' names on the map (with their resolution when lighter than
// full), and the colour scale of a difference.
import { number, t } from "./i18n.js";
import { monthLabel } from "./months.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
// The colour scales of the differences, as the server draws them: /api/legends (kind -> range, signed, colors).
let scales = {};
fetch("/api/legends").then((r) => (r.ok ? r.json() : {})).then((found) => {
  scales = found;
  if (scales[state.mode]) legend();
}).catch(() => {});

function tick([value, word], signed) {
  const text = number(value, 2, signed);
  return word ? `${text} (${t(word)})` : text;
}

/** The month badges on each side and the difference legend, for the current state and language. */
export function legend() {
  const swipe = state.mode === "swipe";
  $("side-left").textContent = monthLabel(state.left);
  $("side-right").textContent = monthLabel(state.right);
  $("side-left").hidden = $("side-right").hidden = !swipe;
  const box = $("legend");
  const info = scales[state.mode];
  box.hidden = !info;
  if (!info) return;
  const [low, high] = info.range;
  box.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = t(`${state.mode}Change`);
  const bar = document.createElement("div");
  bar.className = "bar";
  // Set through the CSSOM: the page's Content Security Policy refuses inline style attributes.
  bar.style.background = `linear-gradient(to right, ${info.colors.join(", ")})`;
  const ticks = document.createElement("div");
  ticks.className = "ticks";
  const ends = info.signed ? [[low, "loss"], [high, "gain"]] : [[low], [high]];
  for (const end of ends) ticks.append(Object.assign(document.createElement("span"), { textContent: tick(end, info.signed) }));
  box.append(title, ` (${monthLabel(state.left)} → ${monthLabel(state.right)})`, bar, ticks);
}
