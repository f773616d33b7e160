// Application sources: "From applications" on /exports/new (resources from the registry, their filters,
// a name and a format), and what an export's page shows of its sources.

import { ApiError, applicationsApi } from "./api.js";
import { h, uid } from "./dom.js";
import { isNotifyMessage, notifyChoice } from "./notify.js";

export const SOURCE_LABEL = { pending: "Waiting", uploaded: "Uploaded", failed: "Failed" };
const FORMATS = [
  ["csv", "CSV", "one .csv file per source"],
  ["json", "JSON", "one .json file per source"],
];

/** Which input a 400 message is about: "sources", "name", "format", "expires", "notify", or "form". */
export function sourcePlace(message) {
  if (isNotifyMessage(message)) return "notify";
  if (/^sources\b/.test(message)) return "sources";
  if (/^name\b/.test(message)) return "name";
  if (/^format\b/.test(message)) return "format";
  if (/^expires_at\b/.test(message)) return "expires";
  return "form";
}

/** "name = web, os = rhel", or "none". */
export function describeFilters(filters) {
  const entries = Object.entries(filters || {});
  return entries.length ? entries.map(([k, v]) => `${k} = ${v}`).join(", ") : "none";
}

/** One resource of an application: its checkbox, and its filters once it is picked. */
function resourceChoice(application, resource) {
  const id = uid("source");
  const filtersId = uid("source-filters");
  const box = h("input", { type: "checkbox", id, value: `${application}/${resource.name}`, "aria-controls": filtersId });
  const inputs = resource.filters.map((filter) => {
    const inputId = uid("filter");
    const input = h("input", { type: "text", id: inputId, autocomplete: "off", spellcheck: "false", dataset: { filter } });
    return { filter, input, node: h("div", { class: "param" }, h("label", { for: inputId }, filter, h("span", { class: "muted" }, " (optional)")), input) };
  });
  const filters = h(
    "div",
    { id: filtersId, class: "source-filters", hidden: true },
    inputs.length
      ? [h("p", { class: "hint" }, `Only ${resource.name} that match these filters; leave one empty to not filter by it.`), h("div", { class: "params" }, inputs.map((i) => i.node))]
      : h("p", { class: "hint" }, `${resource.name} takes no filters.`),
  );
  box.addEventListener("change", () => {
    filters.hidden = !box.checked;
  });
  const value = () => {
    const chosen = Object.fromEntries(inputs.map(({ filter, input }) => [filter, input.value.trim()]).filter(([, v]) => v));
    return { application, resource: resource.name, ...(Object.keys(chosen).length ? { filters: chosen } : {}) };
  };
  return { box, value, node: h("li", { dataset: { source: box.value } }, h("div", { class: "switch" }, box, h("label", { for: id }, resource.name)), filters) };
}

/** A labelled text-like input with its error line; ``attrs`` go on the input. */
function labelled(text, hint, attrs) {
  const id = uid("input");
  const hintId = uid("hint");
  const error = h("p", { class: "error", role: "alert", id: uid("error") });
  const input = h("input", { id, "aria-describedby": `${hintId} ${error.id}`, ...attrs });
  return { input, error, node: h("div", { class: "param" }, h("label", { for: id }, text), input, h("p", { class: "hint", id: hintId }, hint), error) };
}

/**
 * The "From applications" form, given the registry (``GET /api/export/v1/applications``).
 * On 202 it goes to the new export's page; a refusal is shown at the input it names.
 */
export function applicationsForm(registry, { navigate }) {
  const choices = registry.applications.flatMap((app) => app.resources.map((resource) => resourceChoice(app.name, resource)));
  const sourcesError = h("p", { class: "error", role: "alert", id: uid("sources-error") });
  const formatError = h("p", { class: "error", role: "alert", id: uid("format-error") });
  const formError = h("div", { class: "notice", role: "alert", tabindex: "-1", hidden: true });
  const name = labelled("Export name", "Shown on your list of exports and in the file's manifest.", { type: "text", autocomplete: "off", maxlength: "255" });
  const expires = labelled("Expires on (optional)", "The file expires at the end of this day (UTC); empty: the service's default.", { type: "date" });
  const group = uid("format-choice");
  const formats = FORMATS.map(([value, label, hint]) => {
    const id = uid("format");
    const radio = h("input", { type: "radio", name: group, id, value, checked: value === "csv" });
    return { radio, node: h("div", { class: "switch" }, radio, h("label", { for: id }, label, h("span", { class: "muted" }, ` · ${hint}`))) };
  });
  const notify = notifyChoice();
  const submit = h("button", { type: "submit" }, "Request export");

  const places = {
    sources: [sourcesError, () => choices[0]?.box],
    name: [name.error, () => name.input],
    format: [formatError, () => formats[0].radio],
    expires: [expires.error, () => expires.input],
    notify: [notify.error, () => notify.input],
  };

  const clearErrors = () => {
    for (const [error, target] of Object.values(places)) {
      error.textContent = "";
      target()?.removeAttribute("aria-invalid");
    }
    formError.hidden = true;
  };

  /** Show each [place, message]; focus the first. */
  const show = (problems) => {
    for (const [place, message] of problems) {
      if (place === "form") {
        formError.textContent = message;
        formError.hidden = false;
        continue;
      }
      const [error, target] = places[place];
      error.textContent = message;
      target()?.setAttribute("aria-invalid", "true");
    }
    const [first] = problems[0];
    if (first === "form") formError.focus();
    else places[first][1]()?.focus();
  };

  const body = () => {
    const picked = choices.filter((c) => c.box.checked).map((c) => c.value());
    const day = expires.input.value;
    return {
      name: name.input.value.trim(),
      format: formats.find((f) => f.radio.checked)?.radio.value,
      sources: picked,
      ...(day ? { expires_at: `${day}T23:59:59Z` } : {}),
      ...notify.body(),
    };
  };

  /** What the form can tell before asking the API: a source and a name are needed. */
  const missing = (request) => [
    ...(request.name ? [] : [["name", "Give the export a name."]]),
    ...(request.sources.length ? [] : [["sources", "Pick at least one source: tick the resources the export should hold."]]),
  ];

  const onsubmit = async (event) => {
    event.preventDefault();
    clearErrors();
    const request = body();
    const problems = missing(request);
    if (problems.length) return show(problems);
    submit.disabled = true;
    submit.textContent = "Requesting…";
    try {
      const created = await applicationsApi.create(request);
      navigate(`/exports/${encodeURIComponent(created.id)}`);
    } catch (e) {
      const refused = e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401;
      show([[refused ? sourcePlace(e.message) : "form", e.message]]);
    } finally {
      submit.disabled = false;
      submit.textContent = "Request export";
    }
  };

  const byApplication = registry.applications.map((app) =>
    h(
      "fieldset",
      { class: "application" },
      h("legend", {}, app.name),
      h("ul", { class: "plain" }, choices.filter((c) => c.box.value.startsWith(`${app.name}/`)).map((c) => c.node)),
    ),
  );

  const node = h(
    "form",
    { novalidate: true, onsubmit },
    formError,
    h(
      "fieldset",
      { class: "section", "aria-describedby": sourcesError.id },
      h("legend", {}, "Sources"),
      h("p", { class: "hint" }, "Each application is asked for the resources you tick, and uploads its part; the parts are zipped together."),
      byApplication.length ? byApplication : h("p", { class: "empty" }, "No source applications are configured on this deployment."),
      sourcesError,
    ),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "The file"),
      name.node,
      h("fieldset", { class: "formats", "aria-describedby": formatError.id }, h("legend", {}, "Format"), formats.map((f) => f.node), formatError),
      expires.node,
    ),
    notify.node,
    h("div", { class: "actions" }, submit, h("a", { href: "/exports" }, "Cancel")),
  );
  return node;
}

/** An export's sources as a table: application, resource, filters, status, and a failed source's message. */
export function sourcesTable(view) {
  const captionId = uid("sources-caption");
  return h(
    "table",
    { class: "sources", "aria-labelledby": captionId },
    h("caption", { id: captionId, class: "visually-hidden" }, "Sources"),
    h("thead", {}, h("tr", {}, ["Application", "Resource", "Filters", "Status", "Message"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      view.sources.map((s) =>
        h(
          "tr",
          { dataset: { source: `${s.application}/${s.resource}`, status: s.status } },
          h("th", { scope: "row" }, s.application),
          h("td", {}, s.resource),
          h("td", {}, describeFilters(s.filters)),
          h("td", {}, h("span", { class: `badge status-${s.status}` }, SOURCE_LABEL[s.status] || s.status)),
          h("td", { class: s.status === "failed" ? "error" : "muted" }, s.message || (s.status === "failed" ? "no reason given" : "—")),
        ),
      ),
    ),
  );
}

/** "1 of 2 sources answered", "2 sources uploaded", "1 of 2 sources failed". */
export function sourcesSummary(view) {
  const count = (status) => view.sources.filter((s) => s.status === status).length;
  const total = view.sources.length;
  const answered = total - count("pending");
  if (answered < total) return `${answered} of ${total} sources answered`;
  const failed = count("failed");
  return failed ? `${failed} of ${total} sources failed` : `${total} of ${total} sources uploaded`;
}
