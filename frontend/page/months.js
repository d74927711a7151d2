// The published months, as /api/months describes them.
import { monthName, number, t } from "./i18n.js";

export let months = [];

export function setMonths(list) { months = [...list].sort((a, b) => a.month.localeCompare(b.month)); }

export function month(id) { return months.find((m) => m.month === id); }

/** The month's resolution note when it is served lighter than full resolution ("" otherwise), written here in
 * the page's language from the API's numbers (the API's own `label` is English): "allégé : zoom 13, environ 13 m". */
export function resolutionNote(id) {
  const r = month(id)?.resolution;
  if (!r || r.full !== false) return "";
  const vars = { zoom: r.zoom, m: number(r.ground_m, r.ground_m >= 10 ? 0 : 1) };
  if (!(r.dropped_share >= 0.01)) return t("lighterNote", vars);  // builds before the share was served, or ~0 %
  return t("lighterDropped", { ...vars, share: number(100 * r.dropped_share, 0), source: number(r.source_pixel_m) });
}

/** "juillet 2018", or "juillet 2018 (allégé : zoom 7, environ 842 m)" for a month served at a lighter resolution. */
export function monthLabel(id) {
  const note = resolutionNote(id);
  return note ? `${monthName(id)} (${note})` : monthName(id);
}

/** The month shown on a side the URL leaves empty (or names unpublished), given the other side's
 * month (or null): on the right the latest, on the left the latest before the right one; never the
 * other side's month while there is another. */
export function fallback(side, other) {
  const ids = months.map((m) => m.month);
  if (side === "right") return ids.filter((id) => id !== other).at(-1) ?? ids.at(-1);
  if (!other) return ids.at(-2) ?? ids[0];
  return ids.filter((id) => id < other).at(-1) ?? ids.find((id) => id !== other) ?? ids[0];
}
