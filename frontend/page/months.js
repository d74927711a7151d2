// The published months, as /api/months describes them.
import { monthName } from "./i18n.js";

export let months = [];

export function setMonths(list) { months = [...list].sort((a, b) => a.month.localeCompare(b.month)); }

export function month(id) { return months.find((m) => m.month === id); }

/** The month's resolution note when it is served lighter than full resolution ("" otherwise). */
export function resolutionNote(id) {
  const r = month(id)?.resolution;
  return r && r.full === false && r.label ? r.label : "";
}

/** "juillet 2018", or "juillet 2018 (60 m)" for a month served at a lighter resolution. */
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
