// A dataset's parameters as form inputs, and the API's 400 messages placed at the input they name.

import { h, uid } from "./dom.js";

const INPUT = {
  date: { type: "date", hint: "YYYY-MM-DD" },
  timestamp: { type: "datetime-local", step: "1", hint: "date and time, UTC" },
  integer: { type: "number", step: "1", inputmode: "numeric", hint: "a whole number" },
  uuid: { type: "text", spellcheck: "false", autocomplete: "off", hint: "a UUID" },
  string: { type: "text", autocomplete: "off", hint: "text" },
};

/** The value an input shows for a stored one (a timestamp "…Z" becomes the picker's local form). */
function shown(param, value, relative) {
  if (value === undefined || value === null) return "";
  const text = String(value);
  if (!relative && param.type === "timestamp") return text.replace(/(Z|[+-]00:?00)$/, "").slice(0, 19);
  return text;
}

/**
 * Inputs for ``dataset.parameters``, filled with ``values`` (or the defaults).
 * ``relative``: every input is text, so a schedule may hold ``{{ run_date - 1 day }}``.
 * Returns {node, values(), showError(message) → bool, clearErrors(), first}.
 */
export function parameterForm(dataset, { values = {}, relative = false } = {}) {
  const rows = dataset.parameters.map((param) => {
    const spec = INPUT[param.type] || INPUT.string;
    const id = uid(`param-${param.name}`);
    const hintId = uid("param-hint");
    const error = h("p", { class: "error", role: "alert", id: uid("param-error") });
    const { hint, ...attrs } = spec;
    const input = h("input", {
      ...(relative ? { type: "text", spellcheck: "false", autocomplete: "off" } : attrs),
      id,
      name: param.name,
      value: shown(param, values[param.name] ?? param.default, relative),
      required: param.required,
      "aria-required": param.required ? "true" : undefined,
      "aria-describedby": `${hintId} ${error.id}`,
      dataset: { param: param.name, type: param.type },
    });
    const words = [param.description, `${param.type}${relative ? ` (${hint}, or relative to the run, e.g. {{ run_date - 1 day }})` : ""}`]
      .filter(Boolean)
      .join(" · ");
    const node = h(
      "div",
      { class: "param" },
      h("label", { for: id }, param.name, param.required ? h("span", { class: "required" }, " (required)") : h("span", { class: "muted" }, " (optional)")),
      input,
      h("p", { class: "hint", id: hintId }, words, param.default !== undefined && param.default !== null ? ` · default ${param.default}` : ""),
      error,
    );
    return { param, input, error, node };
  });

  const clearErrors = () => {
    for (const { input, error } of rows) {
      error.textContent = "";
      input.removeAttribute("aria-invalid");
    }
  };

  /** Put ``message`` at the parameter it names (by name, or by the text it quotes); false if none. */
  const showError = (message) => {
    const named = /parameter '([^']+)'/.exec(message)?.[1] ?? /\bparameters?\.([\w-]+)/.exec(message)?.[1];
    const row =
      rows.find((r) => r.param.name === named) ||
      rows.find((r) => new RegExp(`(^|[^\\w])'?${r.param.name}'?([^\\w]|$)`).test(message) && /parameter/.test(message)) ||
      rows.find((r) => r.input.value.includes("{{") && message.includes(r.input.value.match(/\{\{[^}]*\}\}/)?.[0] ?? "\u0000"));
    if (!row) return false;
    row.error.textContent = message;
    row.input.setAttribute("aria-invalid", "true");
    row.input.focus();
    return true;
  };

  const values_ = () => {
    const out = {};
    for (const { param, input } of rows) {
      const raw = input.value.trim();
      if (raw === "") continue;
      if (!relative && param.type === "timestamp") out[param.name] = raw.length === 16 ? `${raw}:00Z` : `${raw}Z`;
      else if (!relative && param.type === "integer" && /^-?\d+$/.test(raw)) out[param.name] = raw;
      else out[param.name] = raw;
    }
    return out;
  };

  const node = rows.length
    ? h("div", { class: "params" }, rows.map((r) => r.node))
    : h("p", { class: "hint" }, "This dataset takes no parameters.");
  return { node, values: values_, showError, clearErrors, first: rows[0]?.input };
}
