// The place search box: suggestions as you type from /api/places, operable with the keyboard
// alone (the ARIA combobox pattern: the focus stays in the box, aria-activedescendant names the
// suggestion the arrows reached).
import { number, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let results = [], active = -1, controller = null, timer = 0;

function option(r, i) {
  const li = document.createElement("li");
  li.id = `place-${i}`;
  li.setAttribute("role", "option");
  li.setAttribute("aria-selected", "false");
  const detail = r.kind === "coordinates" ? t("coordinates")
    : [r.region, t("inhabitants", { n: number(r.population, 0) })].filter(Boolean).join(" · ");
  const name = document.createElement("span");
  name.textContent = r.kind === "coordinates" ? `${number(r.lat, 6)} ; ${number(r.lon, 6)}` : r.name;
  const small = document.createElement("small");
  small.textContent = detail;
  li.append(name, " ", small);
  return li;
}

function render(message = "") {
  const list = $("suggestions"), input = $("q");
  list.replaceChildren(...results.map(option));
  if (message) {
    const li = Object.assign(document.createElement("li"), { textContent: message, className: "none" });
    li.setAttribute("role", "option");
    li.setAttribute("aria-disabled", "true");
    list.append(li);
  }
  const open = list.children.length > 0;
  list.hidden = !open;
  input.setAttribute("aria-expanded", String(open));
  highlight(-1);
}

function highlight(i) {
  active = i;
  [...$("suggestions").querySelectorAll("[id^=place-]")].forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
  const input = $("q");
  if (i >= 0) {
    input.setAttribute("aria-activedescendant", `place-${i}`);
    $(`place-${i}`).scrollIntoView({ block: "nearest" });
  } else input.removeAttribute("aria-activedescendant");
}

function close() { results = []; render(); }

async function suggest(query) {
  controller?.abort();
  if (!query.trim()) { close(); return; }
  controller = new AbortController();
  try {
    const r = await fetch(`/api/places?q=${encodeURIComponent(query.slice(0, 80))}&limit=8`, { signal: controller.signal });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    results = (await r.json()).results;
    render(results.length ? "" : t("searchNone"));
  } catch (err) {
    if (err.name === "AbortError") return;
    results = [];
    render(t("searchFailed", { error: err.message }));
  }
}

/** Wire the box; `choose(result)` runs with the suggestion picked. */
export function setupSearch(choose) {
  const input = $("q"), list = $("suggestions");
  const pick = (i) => {
    const r = results[i];
    if (!r) return;
    input.value = r.kind === "coordinates" ? `${r.lat}, ${r.lon}` : r.name;
    close();
    choose(r);
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => suggest(input.value), 120); });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!results.length) { suggest(input.value); return; }
      const n = results.length;
      highlight(e.key === "ArrowDown" ? (active + 1) % n : (active - 1 + n) % n);
    } else if (e.key === "Enter") {
      e.preventDefault();
      clearTimeout(timer);
      if (results.length) pick(Math.max(0, active));
      else suggest(input.value).then(() => results.length === 1 && pick(0));
    } else if (e.key === "Escape") {
      if (!list.hidden) close(); else input.value = "";
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  list.addEventListener("mousedown", (e) => e.preventDefault());  // keep the focus in the box
  list.addEventListener("click", (e) => {
    const li = e.target.closest("[id^=place-]");
    if (li) pick(+li.id.slice("place-".length));
  });
}
