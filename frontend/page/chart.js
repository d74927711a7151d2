// The clicked pixel over every published month: NDVI and reflectance, a gap where the month is not
// valid there (with the reason), and a table of the values.
import { monthName, monthShort, number, t } from "./i18n.js";

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

const LINES = { B4: "#c33", B3: "#3a3", B2: "#36c", B8: "#a3a" };  // red, green, blue, near infrared

/** An SVG path through the valid months only: a new run starts after each gap (a lone month is a dot). */
function path(series, x, y, value) {
  let d = "", on = false;
  series.forEach((s, i) => {
    const v = s.valid ? value(s) : null;
    if (v === null || v === undefined) { on = false; return; }
    d += on ? `L${x(i)},${y(v)}` : `M${x(i)},${y(v)}l0,0`;
    on = true;
  });
  return d;
}

/** Draw the series of one point (`series` from /api/point): NDVI and reflectance over every month,
 * with a gap where the month is not valid there, and why (cloud, snow, water, no data). */
function draw(lngLat, series) {
  if (!series.some((s) => s.ndvi !== null)) { fill(`<p>${t("noData")}</p>`); return; }
  const w = 300, h = 140, pad = 22, col = (w - 2 * pad) / series.length, flags = t("flags");
  const x = (i) => +(pad + (i + 0.5) * col).toFixed(1);
  const y = (v) => +(h - pad - ((Math.min(1, Math.max(-0.2, v)) + 0.2) / 1.2) * (h - 1.6 * pad)).toFixed(1);
  const reason = (s) => flags[s.reason] ?? s.reason;
  const gaps = series.map((s, i) => (s.valid ? "" : `<g class="gap"><title>${monthName(s.month)}: ${reason(s)}</title>
    <rect x="${x(i) - col / 2}" y="${y(1)}" width="${col}" height="${y(-0.2) - y(1)}" fill="#8882"/>
    <text transform="translate(${x(i) + 3},${y(-0.2) - 3}) rotate(-90)" font-size="10" fill="#444">${reason(s)}</text></g>`)).join("");
  const lines = Object.entries(LINES).map(([band, color]) =>
    `<path class="line-${band}" fill="none" stroke="${color}" stroke-linecap="round" stroke-width="2" d="${path(series, x, y, (s) => s.reflectance[band])}"/>`).join("");
  const ndvi = `<path class="ndvi-line" fill="none" stroke="#2a7d2a" stroke-width="2.5" stroke-linecap="round" d="${path(series, x, y, (s) => s.ndvi)}"/>`;
  const points = series.map((s, i) => (!s.valid || s.ndvi === null ? "" :
    `<circle class="ndvi-point" cx="${x(i)}" cy="${y(s.ndvi)}" r="4" fill="#2a7d2a"><title>${monthName(s.month)}, NDVI ${number(s.ndvi)}</title></circle>`)).join("");
  const ticks = series.map((s, i) => `<text x="${x(i)}" y="${h - 6}" font-size="10" text-anchor="middle">${monthShort(s.month, col)}</text>`).join("");
  const key = [["NDVI", "#2a7d2a"], ...Object.entries(LINES).map(([b, c]) => [`${b} ${t(`band${b}`)}`, c])]
    .map(([label, color]) => `<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${color}"/></svg> ${label}</span>`).join(" ");
  fill(`<h2>${number(lngLat.lat, 4)} N, ${number(lngLat.lng, 4)} E</h2>
    <svg width="${w}" height="${h}" role="img" aria-label="${t("chartImage")}">${gaps}
      <line x1="${pad}" x2="${w - pad}" y1="${y(0)}" y2="${y(0)}" stroke="#aaa"/>
      <text x="2" y="${y(0) + 3}" font-size="10">0</text><text x="2" y="${y(1) + 8}" font-size="10">1</text>
      ${lines}${ndvi}${points}${ticks}</svg>
    <p class="key">${key}</p>
    <table><tr><th scope="col">${t("month")}</th><th scope="col">NDVI</th><th scope="col">${t("flag")}</th><th scope="col">${t("day")}</th></tr>${
      series.map((s) => `<tr${s.valid ? "" : ' class="invalid"'}><td>${monthName(s.month)}</td><td>${s.valid && s.ndvi !== null ? number(s.ndvi) : "–"}</td><td>${
        s.valid ? flags.land : reason(s)}</td><td>${s.day_of_year ?? "–"}</td></tr>`).join("")}</table>`);
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
