// The share of the view valid in both shown months (/api/valid): one small request once the view
// or the months settled (none while the map moves), and a toggletip saying what the rest is.
import { percent, t } from "./i18n.js";
import { month } from "./months.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
let map, timer, abort, asked = "", last = null;

/** The two shown months' path and their builds (answers for named builds are cached for good). */
export function pair() {
  const [a, b] = [state.left, state.right];
  return [`${a}/${b}`, `build_a=${month(a).build_id}&build_b=${month(b).build_id}`];
}

/** The map's view as west,south,east,north (degrees, within the API's range), or null. */
export function viewBbox() {
  const b = map.getBounds();
  const w = Math.max(-180, b.getWest()), e = Math.min(180, b.getEast());
  const s = Math.max(-85.05, b.getSouth()), n = Math.min(85.05, b.getNorth());
  return w < e && s < n ? [w, s, e, n].map((v) => v.toFixed(4)).join(",") : null;
}

/** Write the share and its reasons (again after a change of language). */
export function showValid() {
  const s = last?.shares, pct = (v) => percent(v * 100);
  $("valid").textContent = last ? t("validShare", { pct: pct(last.valid_share) }) : t("validUnknown");
  $("valid-why").textContent = s ? t("validReasons", { cloud: pct(s.cloud), snow: pct(s.snow), nodata: pct(s.no_data) }) : "";
}

async function ask() {
  const bbox = viewBbox();
  if (!bbox || !month(state.left) || !month(state.right) || map.isMoving()) return;
  const [path, pins] = pair(), url = `/api/valid/${path}?bbox=${bbox}&${pins}`;
  if (url === asked) return;  // a change of preset or mode: the same view and months
  asked = url;
  abort?.abort();
  abort = new AbortController();
  try {
    const r = await fetch(url, { signal: abort.signal });
    last = r.ok ? await r.json() : null;
  } catch (err) {
    if (err.name === "AbortError") return;
    last = null;
  }
  showValid();
}

/** Ask once the view (or the months) settled for a moment. */
export function validSoon() {
  clearTimeout(timer);
  timer = setTimeout(ask, 250);
}

export function setupValid(theMap) {
  map = theMap;
  map.on("moveend", validSoon);
  map.on("movestart", () => clearTimeout(timer));
  // The reasons show on hover and focus (CSS); a click or a tap keeps them open; Escape hides them
  // (before it folds a phone's settings) until the pointer or the focus leaves.
  const button = $("valid"), box = $("valid-box"), open = (on) => button.setAttribute("aria-expanded", String(on));
  button.addEventListener("click", () => { box.classList.remove("quiet"); open(button.getAttribute("aria-expanded") !== "true"); });
  button.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || box.classList.contains("quiet")) return;
    box.classList.add("quiet");
    open(false);
    e.stopPropagation();
  });
  button.addEventListener("blur", () => { box.classList.remove("quiet"); open(false); });
  box.addEventListener("mouseleave", () => { if (document.activeElement !== button) box.classList.remove("quiet"); });
  showValid();
  validSoon();
}
