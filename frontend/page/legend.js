// What each side shows: the months' names on the map (with their resolution when lighter than
// full), and the colour scale of a difference.
import { number, t } from "./i18n.js";
import { monthLabel } from "./months.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
const DIFF_LEGEND = {
  ndvi: { title: "ndviChange", from: [-0.5, "loss"], to: [0.5, "gain"], signed: true, colors: "#8c510a, #f5f5f5, #01665e" },
  magnitude: { title: "magnitudeChange", from: [0], to: [0.3], colors: "#000004, #bb3754, #fcffa4" },
};

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
  const info = DIFF_LEGEND[state.mode];
  box.hidden = !info;
  if (!info) return;
  box.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = t(info.title);
  const bar = document.createElement("div");
  bar.className = "bar";
  // Set through the CSSOM: the page's Content Security Policy refuses inline style attributes.
  bar.style.background = `linear-gradient(to right, ${info.colors})`;
  const ticks = document.createElement("div");
  ticks.className = "ticks";
  for (const end of [info.from, info.to]) ticks.append(Object.assign(document.createElement("span"), { textContent: tick(end, info.signed) }));
  box.append(title, ` (${monthLabel(state.left)} → ${monthLabel(state.right)})`, bar, ticks);
}
