// Status messages, one per cause: each is cleared by the code that sees its cause end.
import { t } from "./i18n.js";

const shown = new Map();  // cause -> [string key, vars, dismissable]
const box = () => document.getElementById("status");

/** Show the message `key` for `cause` (replacing that cause's previous message). */
export function show(cause, key, vars = {}, dismissable = false) {
  shown.set(cause, [key, vars, dismissable]);
  render();
}

/** The cause has ended: its message goes. */
export function clear(cause) {
  if (shown.delete(cause)) render();
}

export function has(cause) { return shown.has(cause); }

/** Write the messages (again, after a change of language). */
export function render() {
  const el = box();
  el.replaceChildren(...[...shown].map(([cause, [key, vars, dismissable]]) => {
    const line = document.createElement("p");
    line.textContent = t(key, vars);
    if (dismissable) {
      const close = document.createElement("button");
      close.type = "button";
      close.className = "dismiss";
      close.textContent = "×";
      close.setAttribute("aria-label", t("dismiss"));
      close.addEventListener("click", () => clear(cause));
      line.append(" ", close);
    }
    return line;
  }));
}
