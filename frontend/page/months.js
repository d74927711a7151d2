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

/** The months shown when the URL names none: the two latest published. */
export function defaults() {
  const ids = months.map((m) => m.month);
  return [ids.at(-2) ?? ids[0], ids.at(-1)];
}
