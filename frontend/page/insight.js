// How far to trust the comparison and where it changed: the valid share of the view (valid.js),
// the biggest changes (changes.js) and the timelapse export (export.js, loaded when first opened).
import { setupChanges, translateChanges, updateChanges } from "./changes.js";
import { setupValid, showValid, validSoon, viewBbox } from "./valid.js";

const $ = (id) => document.getElementById(id);
let ready = false;

/** The months changed: the share and an open list follow. */
export function updateInsight() {
  if (!ready) return;
  validSoon();
  updateChanges();
}

export function setupInsight(map, refresh) {
  setupValid(map);
  setupChanges(map, refresh);
  $("lang").addEventListener("click", () => { showValid(); translateChanges(); });  // after the page's own switch
  for (const panel of [$("changes"), $("export")]) {  // Escape folds an open panel, back to its summary
    panel.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || !panel.open) return;
      panel.open = false;
      panel.querySelector("summary").focus();
      e.stopPropagation();
    });
  }
  $("export").addEventListener("toggle", () => import("./export.js").then((x) => x.setupExport(map, viewBbox)), { once: true });
  ready = true;
}
