// The clicked pixel over the months: NDVI and visible reflectance, with a table of the values.
import { monthName, number, t } from "./i18n.js";

const box = () => document.getElementById("chart");
let last = null;  // the point shown, drawn again in another language

function closeButton() {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "close";
  b.textContent = "×";
  b.setAttribute("aria-label", t("close"));
  b.addEventListener("click", hideChart);
  return b;
}

export function hideChart() {
  last = null;
  box().hidden = true;
}

function fill(html) {
  const el = box();
  el.innerHTML = html;
  el.prepend(closeButton());
}

/** Draw the series of one point (`series` from /api/point). */
function draw(lngLat, series) {
  const valid = series.filter((s) => s.ndvi !== null);
  if (!valid.length) { fill(`<p>${t("noData")}</p>`); return; }
  const w = 300, h = 120, pad = 24;
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, series.length - 1);
  const y = (v) => h - pad - ((v + 0.2) / 1.2) * (h - 2 * pad);
  const points = series.map((s, i) => (s.ndvi === null ? "" :
    `<circle class="ndvi-point" cx="${x(i)}" cy="${y(s.ndvi)}" r="4" fill="#2a7d2a"><title>${monthName(s.month)}, NDVI ${number(s.ndvi)}</title></circle>`)).join("");
  const rgb = ["B4", "B3", "B2"].map((b, k) => `<polyline fill="none" stroke="${["#c33", "#3a3", "#36c"][k]}" points="${
    series.map((s, i) => (s.reflectance[b] === null ? "" : `${x(i)},${y(s.reflectance[b])}`)).join(" ")}"/>`).join("");
  const flags = t("flags");
  fill(`<h2>${number(lngLat.lat, 4)} N, ${number(lngLat.lng, 4)} E</h2>
    <svg width="${w}" height="${h}" role="img" aria-label="${t("chartImage")}">
      <line x1="${pad}" x2="${w - pad}" y1="${y(0)}" y2="${y(0)}" stroke="#aaa"/>${rgb}${points}</svg>
    <table><tr><th scope="col">${t("month")}</th><th scope="col">NDVI</th><th scope="col">${t("flag")}</th><th scope="col">${t("day")}</th></tr>${
      series.map((s) => `<tr><td>${monthName(s.month)}</td><td>${s.ndvi === null ? "–" : number(s.ndvi)}</td><td>${
        s.flag_name ? flags[s.flag_name] ?? s.flag_name : t("nodata")}</td><td>${s.day_of_year ?? "–"}</td></tr>`).join("")}</table>`);
}

/** Query the point and show its chart. */
export async function showPixel(lngLat) {
  const el = box();
  el.hidden = false;
  last = { lngLat, series: null };
  fill(`<p>${t("loading")}</p>`);
  const mine = last;
  try {
    const r = await fetch(`/api/point/${lngLat.lng.toFixed(5)},${lngLat.lat.toFixed(5)}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const { months: series } = await r.json();
    if (last !== mine) return;  // another point was clicked meanwhile
    mine.series = series;
    draw(lngLat, series);
  } catch (err) {
    if (last === mine) fill(`<p>${t("pointFailed", { error: err.message })}</p>`);
  }
}

/** Draw the open chart again (after a change of language). */
export function redrawChart() {
  if (last?.series) draw(last.lngLat, last.series);
}
