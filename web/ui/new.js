// /exports/new: the query (builder or JSON), the fields, images; or "From applications"; the API's 400s
// shown where they belong.

import { ApiError, applicationsApi, exportsApi, fields, schedulesApi } from "./api.js";
import { applicationsForm } from "./applications.js";
import { h, uid } from "./dom.js";
import { isNotifyMessage, notifyChoice } from "./notify.js";
import { fromQuery, NotRepresentable, QueryBuilder } from "./query.js";
import { scheduleFields } from "./schedules.js";

/** Which part of the form a 400 message is about: "query" (with a node path), "fields", "images", "notify", or "form". */
export function placeOf(message) {
  if (isNotifyMessage(message)) return { part: "notify" };
  const path = /^(query(?:\.args\[\d+\])*)\s*:/.exec(message);
  if (path) return { part: "query", path: path[1] };
  if (/\bfields?\b/i.test(message)) return { part: "fields" };
  if (/include_images/.test(message)) return { part: "images" };
  if (/query|method|args|DATETIME_|_CONTAINS|_EQUALS|nested|argument/i.test(message)) return { part: "query" };
  return { part: "form" };
}

export async function newExportPage({ navigate, query: search }) {
  const [catalogue, registry] = await Promise.all([fields(), applicationsApi.registry().catch((error) => error)]);
  let mode = "builder";

  // --- query ---
  const builderBox = h("div", { class: "builder" });
  const builder = new QueryBuilder(builderBox);
  const jsonId = uid("json");
  const jsonError = h("p", { id: uid("json-error"), class: "error", role: "alert" });
  const json = h("textarea", {
    id: jsonId,
    rows: "12",
    spellcheck: "false",
    class: "code",
    "aria-describedby": jsonError.id,
  });
  const jsonBox = h("div", { hidden: true }, h("label", { for: jsonId }, "Query as JSON"), json, jsonError);
  const queryError = h("p", { class: "error", role: "alert", id: uid("query-error") });
  const tabBuilder = h("button", { type: "button", class: "tab", "aria-pressed": "true" }, "Builder");
  const tabJson = h("button", { type: "button", class: "tab", "aria-pressed": "false" }, "JSON");

  const setMode = (next) => {
    jsonError.textContent = "";
    json.removeAttribute("aria-invalid");
    if (next === mode) return true;
    if (next === "json") {
      json.value = JSON.stringify(builder.build().query, null, 2);
    } else {
      let parsed;
      try {
        parsed = JSON.parse(json.value);
      } catch (e) {
        jsonError.textContent = `This is not valid JSON (${e.message}); fix it to switch to the builder.`;
        json.setAttribute("aria-invalid", "true");
        json.focus();
        return false;
      }
      try {
        builder.setRoot(fromQuery(parsed));
      } catch (e) {
        if (!(e instanceof NotRepresentable)) throw e;
        jsonError.textContent = `The builder cannot show this query: ${e.message}. Edit it here, or submit it as it is.`;
        json.focus();
        return false;
      }
    }
    mode = next;
    builderBox.hidden = mode !== "builder";
    jsonBox.hidden = mode !== "json";
    tabBuilder.setAttribute("aria-pressed", String(mode === "builder"));
    tabJson.setAttribute("aria-pressed", String(mode === "json"));
    return true;
  };
  tabBuilder.addEventListener("click", () => setMode("builder"));
  tabJson.addEventListener("click", () => setMode("json"));

  // --- fields ---
  const fieldsError = h("p", { class: "error", role: "alert", id: uid("fields-error") });
  const boxes = catalogue.map((f) => {
    const id = uid("field");
    const descId = uid("field-desc");
    const box = h("input", { type: "checkbox", id, value: f.path, checked: f.is_default, "aria-describedby": descId });
    return {
      box,
      item: h(
        "li",
        {},
        box,
        h("label", { for: id }, f.name, " ", h("code", {}, f.path)),
        h("p", { id: descId, class: "hint" }, f.description),
      ),
    };
  });
  const pick = (which) => () => {
    for (const [i, { box }] of boxes.entries()) box.checked = which === "all" || (which === "defaults" && catalogue[i].is_default);
  };

  // --- images ---
  const imagesId = uid("images");
  const imagesError = h("p", { class: "error", role: "alert" });
  const images = h("input", { type: "checkbox", role: "switch", id: imagesId, "aria-describedby": uid("images-hint") });

  // --- repeat ---
  const repeatId = uid("repeat");
  const repeat = h("input", { type: "checkbox", role: "switch", id: repeatId, "aria-controls": uid("repeat-box") });
  const timing = scheduleFields();
  const repeatBox = h("div", { id: repeat.getAttribute("aria-controls"), hidden: true }, timing.nodes);
  const label = () => (repeat.checked ? "Create schedule" : "Start export");

  // --- notify (one export only: a schedule's runs have no caller to e-mail, so it leaves the form) ---
  const notify = notifyChoice();
  const notifySlot = h("div", {}, notify.node);

  repeat.addEventListener("change", () => {
    repeatBox.hidden = !repeat.checked;
    notifySlot.replaceChildren(...(repeat.checked ? [] : [notify.node]));
    submit.textContent = label();
    if (repeat.checked) timing.fields.name.input.focus();
  });

  const formError = h("div", { class: "notice", role: "alert", tabindex: "-1", hidden: true });
  const submit = h("button", { type: "submit" }, "Start export");

  const clearErrors = () => {
    for (const el of [queryError, fieldsError, imagesError, jsonError]) el.textContent = "";
    formError.hidden = true;
    json.removeAttribute("aria-invalid");
    builder.clearErrors();
    timing.clearErrors();
    notify.clearError();
  };

  const show = (message, pathMap) => {
    const place = placeOf(message);
    if (place.part === "query") {
      if (mode === "builder" && place.path && pathMap) {
        const node = pathMap.get(place.path) || pathMap.get("root");
        if (node) return builder.showError(node, message);
      }
      if (mode === "json") {
        jsonError.textContent = message;
        json.setAttribute("aria-invalid", "true");
        return json.focus();
      }
      queryError.textContent = message;
      return builderBox.querySelector("select")?.focus();
    }
    if (place.part === "fields") {
      fieldsError.textContent = message;
      return boxes[0]?.box.focus();
    }
    if (place.part === "images") {
      imagesError.textContent = message;
      return images.focus();
    }
    if (place.part === "notify") return notify.showError(message);
    formError.textContent = message;
    formError.hidden = false;
    formError.focus();
  };

  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors();
        let query;
        let paths = null;
        if (mode === "json") {
          try {
            query = JSON.parse(json.value);
          } catch (e) {
            return show(`query: this is not valid JSON (${e.message})`);
          }
        } else {
          ({ query, paths } = builder.build());
        }
        const chosen = boxes.filter(({ box }) => box.checked).map(({ box }) => box.value);
        submit.disabled = true;
        submit.textContent = repeat.checked ? "Creating…" : "Starting…";
        try {
          if (repeat.checked) {
            const schedule = await schedulesApi.create({ ...timing.values(), target: { query, fields: chosen, include_images: images.checked } });
            const when = schedule.next_run ? ` Its first run is ${new Date(schedule.next_run).toLocaleString()}.` : "";
            return navigate("/schedules", { flash: `Schedule “${schedule.name}” created.${when}`, focus: schedule.schedule_id });
          }
          const created = await exportsApi.create({ query, fields: chosen, include_images: images.checked, ...notify.body() });
          navigate("/exports", { flash: "Export requested. It appears below and updates as it runs.", focus: created.export_id });
        } catch (e) {
          if (repeat.checked && e instanceof ApiError && !/^query|\bfields?\b/i.test(e.message) && timing.showError(e.message)) return;
          if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401) show(e.message, paths);
          else show(e.message);
        } finally {
          submit.disabled = false;
          submit.textContent = label();
        }
      },
    },
    formError,
    h(
      "fieldset",
      { class: "section", "aria-describedby": queryError.id },
      h("legend", {}, "Which observations"),
      h("div", { class: "tabs", role: "group", "aria-label": "Edit the query as" }, tabBuilder, tabJson),
      builderBox,
      jsonBox,
      queryError,
    ),
    h(
      "fieldset",
      { class: "section", "aria-describedby": fieldsError.id },
      h("legend", {}, "Fields"),
      h("p", { class: "hint" }, "Every export has all_data.csv with these columns and one data.json per ad."),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "secondary small", onclick: pick("defaults") }, "Defaults"),
        h("button", { type: "button", class: "secondary small", onclick: pick("all") }, "All"),
        h("button", { type: "button", class: "secondary small", onclick: pick("none") }, "None"),
      ),
      h("ul", { class: "fields" }, boxes.map((b) => b.item)),
      fieldsError,
    ),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "Images"),
      h("div", { class: "switch" }, images, h("label", { for: imagesId }, "Include the ad images")),
      h("p", { class: "hint", id: images.getAttribute("aria-describedby") }, "Adds the screenshots to each ad's folder; the ZIP gets much larger."),
      imagesError,
    ),
    h(
      "fieldset",
      { class: "section" },
      h("legend", {}, "Repeat"),
      h("div", { class: "switch" }, repeat, h("label", { for: repeatId }, "Repeat on a schedule")),
      h("p", { class: "hint" }, "Instead of one export now, make one each time the schedule fires. Query values may be relative to the run, e.g. {{ run_ms - 1 day }} in JSON mode."),
      repeatBox,
    ),
    notifySlot,
    h("div", { class: "actions" }, submit, h("a", { href: "/exports" }, "Cancel")),
  );

  return {
    title: "New export",
    node: h("div", {}, h("h1", { tabindex: "-1" }, "New export"), sourceChooser(search.get("from"), form, registry, navigate)),
  };
}

/** What the export is made from: the observations (the query form), or resources of source applications. */
function sourceChooser(initial, queryForm, registry, navigate) {
  const group = uid("from");
  const panels = {
    observations: queryForm,
    applications:
      registry instanceof Error
        ? h("p", { class: "notice", role: "alert" }, `The source applications could not be listed: ${registry.message}`)
        : applicationsForm(registry, { navigate }),
  };
  // Only the chosen panel is in the page (the other keeps what was typed), so each label is there once.
  const shown = h("div", {});
  const choose = (which) => {
    shown.replaceChildren(panels[which]);
    const url = new URL(location.href);
    if (which === "applications") url.searchParams.set("from", "applications");
    else url.searchParams.delete("from");
    history.replaceState(null, "", url);
  };
  const start = initial === "applications" ? "applications" : "observations";
  const options = [
    ["observations", "Observations", "ads and who saw them, chosen with a query"],
    ["applications", "From applications", "resources that other services upload, zipped together"],
  ].map(([value, label, hint]) => {
    const id = uid("from-option");
    const radio = h("input", { type: "radio", name: group, id, value, checked: value === start, onchange: () => choose(value) });
    return h("div", { class: "switch" }, radio, h("label", { for: id }, label, h("span", { class: "muted" }, ` · ${hint}`)));
  });
  shown.replaceChildren(panels[start]);
  return h("div", {}, h("fieldset", { class: "section from" }, h("legend", {}, "What to export"), options), shown);
}

