// Timelapse export of the current view, months and preset (/api/timelapse): followed at its job
// URL while it renders, then downloaded (and kept as a link). Loaded when the panel first opens.
import { bytes, number, t } from "./i18n.js";
import { months } from "./months.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
const MAX_FRAMES = 48, MAX_SIDE = 1280, MIN_SIDE = 64, WIDTHS = [320, 640, 960, 1280];  // the API's limits
let map, viewBbox, fileUrl, file, shown = [null, {}];

function note(key, vars = {}) {
  shown = [key, vars];
  $("export-note").textContent = key ? t(key, vars) : "";
}

/** First and last month of the export: the shown months' range or every published month, at most MAX_FRAMES. */
function chosenMonths() {
  const ids = months.map((m) => m.month), [a, b] = [state.left, state.right].sort();
  const list = ($("export-months").value === "all" ? ids : ids.filter((id) => id >= a && id <= b)).slice(-MAX_FRAMES);
  return [list[0], list.at(-1)];
}

/** Frame width and height: the chosen width, the map's shape, at most MAX_SIDE a side (even for MP4). */
function frameSize(format) {
  const c = map.getContainer();
  let w = +$("export-size").value, h = Math.round((w * c.clientHeight) / c.clientWidth);
  if (h > MAX_SIDE) [w, h] = [Math.round((w * MAX_SIDE) / h), MAX_SIDE];
  h = Math.max(MIN_SIDE, h);
  return format === "mp4" ? [w - (w % 2), h - (h % 2)] : [w, h];
}

/** The link to the last file, written in the page's language. */
function link() {
  if (file) $("export-file").textContent = t("download", { name: file.name, size: bytes(file.size) });
}

function offer(blob, name) {
  if (fileUrl) URL.revokeObjectURL(fileUrl);
  fileUrl = URL.createObjectURL(blob);
  file = { name, size: blob.size };
  const a = $("export-file");
  Object.assign(a, { href: fileUrl, download: name, hidden: false });
  link();
  note("exportReady");
  a.click();  // downloaded now; the link stays for another copy
}

/** Another export runs on the server: say so until its Retry-After has passed. */
function busy(seconds) {
  note("exportBusy", { s: number(seconds) });
  $("export-start").disabled = true;
  setTimeout(() => { $("export-start").disabled = false; if (shown[0] === "exportBusy") note(null); }, seconds * 1000);
}

const sameOrigin = (url) => { const u = new URL(url, location.href); return u.pathname + u.search; };

async function run() {
  const format = $("export-format").value, [first, last] = chosenMonths(), [w, h] = frameSize(format), bbox = viewBbox();
  const name = `mosaique-${first}-${last}-${state.preset}.${format}`;
  let url = `/api/timelapse?bbox=${bbox}&months=${first}..${last}&preset=${state.preset}&width=${w}&height=${h}&format=${format}`;
  const bar = $("export-progress"), start = $("export-start");
  start.disabled = true;
  $("export-file").hidden = true;
  note("exportStarting");
  let wait = 0;
  try {
    for (;;) {
      const r = await fetch(url);
      const json = (r.headers.get("Content-Type") || "").startsWith("application/json");
      if (r.status === 200 && !json) { offer(await r.blob(), name); return; }
      const body = await r.json().catch(() => ({}));
      wait = +r.headers.get("Retry-After") || 1;
      if (r.status === 429) return busy(wait);
      if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail : `HTTP ${r.status}`);
      if (body.state === "done") { url = sameOrigin(body.result); continue; }
      Object.assign(bar, { hidden: false, max: body.total, value: body.done });
      note("exportProgress", { done: number(body.done), total: number(body.total) });
      url = sameOrigin(body.status);
      await new Promise((done) => setTimeout(done, 1000 * Math.min(wait, 5)));
    }
  } catch (err) {
    note("exportFailed", { error: err.message });
  } finally {
    bar.hidden = true;
    if (shown[0] !== "exportBusy") start.disabled = false;
  }
}

function sizes() {
  const select = $("export-size"), value = select.value || "640";
  select.replaceChildren(...WIDTHS.map((w) => new Option(t("pixels", { n: number(w) }), w)));
  select.value = value;
}

export function setupExport(theMap, bboxOfView) {
  [map, viewBbox] = [theMap, bboxOfView];
  sizes();
  $("export-start").addEventListener("click", run);
  $("lang").addEventListener("click", () => { sizes(); link(); note(...shown); });  // after the page's own switch
}
