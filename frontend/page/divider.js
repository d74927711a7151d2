// The divider between the two months: dragged with a mouse, a finger or the keyboard. Moving it
// redraws the tiles already there (the scissor box follows): it never asks for tiles.
import { percent, t } from "./i18n.js";
import { state, writeUrl } from "./state.js";

const $ = (id) => document.getElementById(id);
let onMove = () => {};

/** Show the divider where the state puts it, and announce its value in words. */
export function placeDivider() {
  const maps = $("maps"), d = $("divider");
  const vertical = state.orient === "vertical";
  maps.classList.toggle("horizontal", !vertical);
  d.setAttribute("aria-valuenow", String(Math.round(state.divider)));
  d.setAttribute("aria-valuetext", t("dividerValue", { pct: percent(state.divider) }));
  d.setAttribute("aria-orientation", vertical ? "horizontal" : "vertical");
  d.style.left = vertical ? `${state.divider}%` : "";
  d.style.top = vertical ? "" : `${state.divider}%`;
  onMove();
}

function setDivider(value) {
  state.divider = Math.min(100, Math.max(0, value));
  placeDivider();
  writeUrl();
}

/** Listen to the pointer (mouse, pen, touch) and keys; `moved` runs after each move. */
export function dragDivider(moved) {
  onMove = moved;
  const d = $("divider");
  d.addEventListener("pointerdown", (e) => {
    try { d.setPointerCapture(e.pointerId); } catch { /* synthetic or already released pointer */ }
    const rect = $("maps").getBoundingClientRect();
    const move = (ev) => setDivider(state.orient === "vertical"
      ? ((ev.clientX - rect.left) / rect.width) * 100 : ((ev.clientY - rect.top) / rect.height) * 100);
    const up = () => { for (const [k, f] of [["pointermove", move], ["pointerup", up], ["pointercancel", up]]) d.removeEventListener(k, f); };
    d.addEventListener("pointermove", move);
    d.addEventListener("pointerup", up);
    d.addEventListener("pointercancel", up);
    e.preventDefault();
  });
  d.addEventListener("keydown", (e) => {
    const step = e.shiftKey ? 10 : 2;
    const delta = { ArrowLeft: -step, ArrowDown: step, ArrowRight: step, ArrowUp: -step, PageDown: 10, PageUp: -10,
      Home: -100, End: 100 }[e.key];
    if (delta === undefined) return;
    setDivider(state.divider + delta);
    e.preventDefault();
  });
}
