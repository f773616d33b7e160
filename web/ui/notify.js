// "E-mail me when it's done": the opt-in on the forms that create an export (``notify: true``), and
// the API's refusal (a 400 starting with "notify:") shown at the checkbox.

import { session } from "./auth.js";
import { h, uid } from "./dom.js";

/** Whether a 400 from the API is about the notify flag (e.g. the token has no e-mail address). */
export function isNotifyMessage(message) {
  return /^notify\b/.test(message);
}

/** Where the e-mail goes, as far as this tab knows (the API reads the token's ``email`` claim itself). */
function hintText() {
  const email = session()?.email;
  const to = email ? ` to ${email}` : " to the address of your sign-in";
  return `One e-mail${to} when the export completes or fails, with a link to its page (never the file itself).`;
}

/**
 * The checkbox with its hint and error line.
 * Returns {node, input, error, body() → {notify: true} or {}, showError(message) → bool, clearError()}.
 */
export function notifyChoice() {
  const id = uid("notify");
  const hint = h("p", { class: "hint", id: uid("notify-hint") }, hintText());
  const error = h("p", { class: "error", role: "alert", id: uid("notify-error") });
  const input = h("input", { type: "checkbox", id, name: "notify", "aria-describedby": `${hint.id} ${error.id}` });
  const node = h("div", { class: "notify" }, h("div", { class: "switch" }, input, h("label", { for: id }, "E-mail me when it's done")), hint, error);

  const clearError = () => {
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  };

  /** Put a "notify: …" message at the checkbox and focus it; false for any other message. */
  const showError = (message) => {
    if (!isNotifyMessage(message)) return false;
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return true;
  };

  return { node, input, error, body: () => (input.checked ? { notify: true } : {}), showError, clearError };
}
