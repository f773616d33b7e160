// Building DOM from data without ever parsing data as HTML.

const PROPERTIES = new Set(["value", "checked", "disabled", "indeterminate", "max", "selected"]);

/** h("button", {type: "button", onclick: f}, "Text", child, [more]) → an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Make ``el``'s children exactly ``nodes``, moving only what is out of place (a moved node loses focus). */
export function reconcile(el, nodes) {
  const keep = new Set(nodes);
  for (const child of [...el.children]) if (!keep.has(child)) child.remove();
  nodes.forEach((node, i) => {
    if (el.children[i] !== node) el.insertBefore(node, el.children[i] || null);
  });
}

/** The ``data-action`` of the focused control inside ``el``, if focus is in there. */
export function focusedAction(el) {
  return el.contains(document.activeElement) ? document.activeElement.dataset.action : undefined;
}

/** Put focus back on the control with that ``data-action`` inside ``el`` (after a rebuild). */
export function focusAction(el, action) {
  if (action) el.querySelector(`[data-action="${action}"]`)?.focus();
}

let counter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Say something to screen-reader users without moving focus. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 50);
}

/**
 * A modal <dialog> (focus is trapped and returned by the browser; Escape closes it).
 * ``buttons`` are [{label, value, kind?, autofocus?}]; resolves with the value of the button
 * that closed it, or "" on Escape. ``body`` may hold forms of its own.
 */
export function modal(title, body, buttons) {
  const titleId = uid("dialog-title");
  const dialog = h("dialog", { "aria-labelledby": titleId });
  const actions = buttons.map(({ label, value, kind, autofocus }) =>
    h("button", { type: "button", class: kind, autofocus, onclick: () => dialog.close(value) }, label),
  );
  append(dialog, [h("h2", { id: titleId }, title), body, h("div", { class: "actions" }, actions)]);
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue);
      dialog.remove();
    });
    dialog.showModal();
  });
}
