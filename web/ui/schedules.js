// /schedules: the caller's schedules (an admin sees everyone's) with their next run, pause/resume,
// delete, and a form that schedules a dataset. Each run is an ordinary export of the owner's.

import { ApiError, datasetsApi, schedulesApi } from "./api.js";
import { session } from "./auth.js";
import { announce, h, modal, uid } from "./dom.js";
import * as fmt from "./format.js";
import { parameterForm } from "./params.js";
import { summarize } from "./query.js";

const EXAMPLES = "cron(0 2 * * ? *) every day at 02:00 · rate(6 hours) · at(2027-01-31T09:00:00) once";

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

/**
 * The name, expression and time zone inputs a schedule needs, with their error lines.
 * showError(message) puts an API message at the input it is about and says whether it did.
 */
export function scheduleFields({ expression = "cron(0 2 * * ? *)", timezone = "UTC", name = "" } = {}) {
  const field = (label, attrs, hint) => {
    const id = uid("schedule-field");
    const error = h("p", { class: "error", role: "alert", id: uid("schedule-error") });
    const hintId = hint ? uid("schedule-hint") : null;
    const input = h("input", { type: "text", id, autocomplete: "off", "aria-describedby": [hintId, error.id].filter(Boolean).join(" "), ...attrs });
    const node = h("div", { class: "param" }, h("label", { for: id }, label), input, hint && h("p", { class: "hint", id: hintId }, hint), error);
    return { input, error, node };
  };
  const listId = uid("zones");
  const fields = {
    name: field("Schedule name", { value: name, required: true, "aria-required": "true", maxlength: "100" }),
    expression: field("When", { value: expression, required: true, "aria-required": "true", spellcheck: "false", class: "code" }, EXAMPLES),
    timezone: field("Time zone", { value: timezone, list: listId, spellcheck: "false" }, "An IANA name such as Europe/Paris; cron times are read in it."),
  };
  const datalist = h("datalist", { id: listId }, zones().map((z) => h("option", { value: z })));
  const clearErrors = () => {
    for (const { input, error } of Object.values(fields)) {
      error.textContent = "";
      input.removeAttribute("aria-invalid");
    }
  };
  const put = (which, message) => {
    fields[which].error.textContent = message;
    fields[which].input.setAttribute("aria-invalid", "true");
    fields[which].input.focus();
    return true;
  };
  const showError = (message) => {
    if (/time ?zone/i.test(message)) return put("timezone", message);
    if (/^(expression|cron|rate|at\()|\b(cron|rate|at)\(|not in the future/i.test(message)) return put("expression", message);
    if (/\bname\b|already (have|has|exists)|named/i.test(message)) return put("name", message);
    return false;
  };
  return {
    fields,
    nodes: [fields.name.node, fields.expression.node, fields.timezone.node, datalist],
    values: () => ({
      name: fields.name.input.value.trim(),
      expression: fields.expression.input.value.trim(),
      timezone: fields.timezone.input.value.trim() || "UTC",
    }),
    showError,
    clearErrors,
  };
}

function targetWords(target, datasets) {
  if (target.dataset) {
    const title = datasets.find((d) => d.name === target.dataset)?.title || target.dataset;
    const params = Object.entries(target.parameters || {}).map(([k, v]) => `${k} = ${v}`);
    return `Dataset ${title}${params.length ? ` (${params.join(", ")})` : ""}`;
  }
  return target.query ? `Export of ${summarize(target.query)}` : "Export";
}

function scheduleCard(schedule, datasets, actions) {
  const titleId = uid("schedule");
  const me = session();
  const next = schedule.enabled && schedule.next_run;
  return h(
    "article",
    { class: "card", "aria-labelledby": titleId, dataset: { scheduleId: schedule.schedule_id, enabled: String(schedule.enabled) } },
    h(
      "header",
      {},
      h("h3", { id: titleId, tabindex: "-1" }, schedule.name),
      h("span", { class: `badge ${schedule.enabled ? "status-completed" : "status-expired"}` }, schedule.enabled ? "Active" : "Paused"),
    ),
    h("p", {}, targetWords(schedule.target, datasets)),
    h(
      "dl",
      {},
      h("div", {}, h("dt", {}, "When"), h("dd", {}, h("code", {}, schedule.expression), ` in ${schedule.timezone}`)),
      h(
        "div",
        { class: "next-run" },
        h("dt", {}, "Next run"),
        h(
          "dd",
          {},
          next
            ? [fmt.date(next), " (", h("span", { dataset: { countdown: next, countdownDone: "due now" } }, fmt.expiry(next)), ")"]
            : schedule.enabled
              ? "none to come"
              : "paused",
        ),
      ),
      me && schedule.owner_id !== me.userId && h("div", {}, h("dt", {}, "Owner"), h("dd", {}, schedule.owner_id)),
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, fmt.date(schedule.created_at))),
    ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "secondary", dataset: { action: "toggle" }, onclick: () => actions.toggle(schedule) },
        schedule.enabled ? "Pause" : "Resume",
      ),
      h("button", { type: "button", class: "danger", dataset: { action: "delete" }, onclick: () => actions.remove(schedule) }, "Delete"),
    ),
  );
}

export async function schedulesPage({ query, flash, focus }) {
  const [{ items: datasets }, listed] = await Promise.all([datasetsApi.list().catch(() => ({ items: [] })), schedulesApi.list()]);
  let schedules = listed.items;
  const list = h("div", { class: "cards", id: "schedule-list" });
  const alert = h("div", { class: "notice", role: "alert", tabindex: "-1", hidden: true });
  const notice = h("p", { class: "flash", role: "status", hidden: !flash }, flash || "");
  const showError = (message) => {
    alert.textContent = message;
    alert.hidden = !message;
    if (message) alert.focus();
  };

  const draw = () => {
    list.replaceChildren(
      ...(schedules.length
        ? schedules.map((s) => scheduleCard(s, datasets, actions))
        : [h("p", { class: "empty" }, "You have no schedules. Schedule a dataset below, or choose “Repeat” on a new export.")]),
    );
  };
  const cardOf = (id) => list.querySelector(`[data-schedule-id="${CSS.escape(id)}"]`);
  const actions = {
    async toggle(schedule) {
      try {
        const changed = await schedulesApi.change(schedule.schedule_id, { enabled: !schedule.enabled });
        schedules = schedules.map((s) => (s.schedule_id === changed.schedule_id ? changed : s));
        draw();
        announce(`${changed.name} ${changed.enabled ? "resumed" : "paused"}`);
        cardOf(changed.schedule_id)?.querySelector('[data-action="toggle"]')?.focus();
      } catch (e) {
        showError(e.message);
      }
    },
    async remove(schedule) {
      const answer = await modal(
        "Delete this schedule?",
        h("p", {}, `“${schedule.name}” will not run again. The exports it already made stay.`),
        [
          { label: "Cancel", value: "cancel", kind: "secondary", autofocus: true },
          { label: "Delete schedule", value: "delete", kind: "danger" },
        ],
      );
      if (answer !== "delete") return;
      try {
        await schedulesApi.remove(schedule.schedule_id);
        schedules = schedules.filter((s) => s.schedule_id !== schedule.schedule_id);
        draw();
        announce(`Schedule ${schedule.name} deleted`);
        (list.querySelector("h3") || heading).focus();
      } catch (e) {
        showError(e.message);
      }
    },
  };
  draw();

  // --- a new schedule for a dataset ---
  const heading = h("h1", { tabindex: "-1" }, "Schedules");
  const wanted = query.get("dataset");
  let chosen = datasets.find((d) => d.name === wanted) || datasets[0];
  const timing = scheduleFields({ expression: chosen?.schedule?.expression, timezone: chosen?.schedule?.timezone || "UTC" });
  const selectId = uid("dataset-select");
  const select = h(
    "select",
    { id: selectId },
    datasets.map((d) => h("option", { value: d.name, selected: d === chosen }, d.title)),
  );
  let params = chosen ? parameterForm(chosen, { relative: true, values: chosen.schedule?.parameters || {} }) : null;
  const paramsBox = h("fieldset", { class: "section" }, h("legend", {}, "Parameters"), params?.node);
  select.addEventListener("change", () => {
    chosen = datasets.find((d) => d.name === select.value);
    params = parameterForm(chosen, { relative: true, values: chosen.schedule?.parameters || {} });
    paramsBox.replaceChildren(h("legend", {}, "Parameters"), params.node);
    if (chosen.schedule) {
      timing.fields.expression.input.value = chosen.schedule.expression;
      timing.fields.timezone.input.value = chosen.schedule.timezone;
    }
  });
  const formError = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Create schedule");
  const form = h(
    "form",
    {
      novalidate: true,
      id: "new-schedule",
      "aria-labelledby": "new-schedule-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        timing.clearErrors();
        params.clearErrors();
        formError.textContent = "";
        submit.disabled = true;
        try {
          const created = await schedulesApi.create({ ...timing.values(), target: { dataset: chosen.name, parameters: params.values() } });
          schedules = [created, ...schedules.filter((s) => s.schedule_id !== created.schedule_id)];
          draw();
          notice.textContent = `Schedule “${created.name}” created. Next runs: ${(created.next_runs || [created.next_run]).filter(Boolean).map(fmt.date).join(", ") || "none"}.`;
          notice.hidden = false;
          timing.fields.name.input.value = "";
          cardOf(created.schedule_id)?.querySelector("h3")?.focus();
        } catch (e) {
          const placed = e instanceof ApiError && e.status < 500 && ((/parameter|\{\{/.test(e.message) && params.showError(e.message)) || timing.showError(e.message));
          if (!placed) {
            formError.textContent = e.message;
            submit.focus();
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    h("label", { for: selectId }, "Dataset"),
    select,
    paramsBox,
    timing.nodes,
    formError,
    h("div", { class: "actions" }, submit),
  );

  const result = {
    title: "Schedules",
    node: h(
      "div",
      {},
      heading,
      h("p", { class: "hint" }, "Each run makes an ordinary export of yours; it appears in your exports."),
      notice,
      alert,
      list,
      h("h2", { id: "new-schedule-heading" }, "Schedule a dataset"),
      datasets.length ? form : h("p", { class: "empty" }, "No dataset is available to you; schedule a query from “New export” with “Repeat”."),
    ),
  };
  if (focus) result.focus = list.querySelector(`[data-schedule-id="${CSS.escape(focus)}"] h3`) || undefined;
  else if (wanted && chosen) result.focus = timing.fields.name.input;
  return result;
}
