// /datasets: the operator's datasets the caller may run, each with a form built from its parameters.
// A run is an ordinary export (kind "dataset"): it is linked to its page, where it downloads.

import { ApiError, datasetsApi, exportsApi } from "./api.js";
import { statusBadge } from "./card.js";
import { announce, h, uid } from "./dom.js";
import * as fmt from "./format.js";
import { notifyChoice } from "./notify.js";
import { parameterForm } from "./params.js";
import { poller } from "./poll.js";

/** "cron(0 2 * * ? *) (UTC) with start_date = {{ run_date - 1 day }}" */
export function scheduleWords(schedule) {
  if (!schedule) return "none";
  const params = Object.entries(schedule.parameters || {}).map(([k, v]) => `${k} = ${v}`);
  return `${schedule.expression} (${schedule.timezone})${params.length ? ` with ${params.join(", ")}` : ""}`;
}

function datasetCard(dataset, started) {
  const titleId = uid("dataset");
  const form = parameterForm(dataset);
  const notify = notifyChoice();
  const formError = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit" }, "Run");
  const runs = h("ul", { class: "runs plain", "aria-label": `Runs of ${dataset.title}` });

  const onsubmit = async (event) => {
    event.preventDefault();
    form.clearErrors();
    notify.clearError();
    formError.textContent = "";
    submit.disabled = true;
    submit.textContent = "Starting…";
    try {
      const exp = await datasetsApi.run(dataset.name, form.values(), notify.body());
      const item = h("li", { dataset: { exportId: exp.export_id } });
      runs.prepend(item);
      started.add(exp, item);
      announce(`${dataset.title}: export requested`);
      item.querySelector("a")?.focus();
    } catch (e) {
      const mine = e instanceof ApiError && e.status === 400 && (notify.showError(e.message) || form.showError(e.message));
      if (!mine) {
        formError.textContent = e.message;
        submit.focus();
      }
    } finally {
      submit.disabled = false;
      submit.textContent = "Run";
    }
  };

  return h(
    "article",
    { class: "card dataset", "aria-labelledby": titleId, dataset: { dataset: dataset.name } },
    h("header", {}, h("h2", { id: titleId }, dataset.title), h("span", { class: "badge" }, dataset.format)),
    dataset.description && h("p", {}, dataset.description),
    h(
      "dl",
      {},
      h("div", {}, h("dt", {}, "Name"), h("dd", {}, h("code", {}, dataset.name))),
      h("div", {}, h("dt", {}, "Format"), h("dd", {}, dataset.format)),
      h(
        "div",
        {},
        h("dt", {}, "Deletes"),
        h("dd", { class: dataset.deletes ? "warn" : undefined }, dataset.deletes ? "Yes: exported rows are deleted from the database once the file is complete" : "No"),
      ),
      h("div", {}, h("dt", {}, "Schedule"), h("dd", {}, scheduleWords(dataset.schedule))),
    ),
    h(
      "form",
      { novalidate: true, onsubmit, "aria-label": `Run ${dataset.title}` },
      form.node,
      notify.node,
      formError,
      h(
        "div",
        { class: "actions" },
        submit,
        h("a", { href: `/schedules?dataset=${encodeURIComponent(dataset.name)}`, "aria-label": `Schedule ${dataset.title}` }, "Schedule…"),
      ),
    ),
    runs,
  );
}

function runItem(exp, dataset) {
  const values = exp.export_parameters?.parameters || {};
  const params = dataset.parameters.filter((p) => p.name in values).map((p) => `${p.name} ${values[p.name]}`).join(", ");
  return [
    h("a", { href: `/exports/${encodeURIComponent(exp.export_id)}` }, `${dataset.title}${params ? ` (${params})` : ""}`),
    " ",
    statusBadge(exp.status),
    " ",
    h("span", { class: "muted" }, fmt.date(exp.created_at)),
  ];
}

export async function datasetsPage() {
  const { items } = await datasetsApi.list();
  const watched = new Map(); // export id → {exp, item, title}
  const refresh = async () => {
    for (const entry of watched.values()) {
      if (!fmt.isRunning(entry.exp.status)) continue;
      const exp = await exportsApi.get(entry.exp.export_id);
      if (exp.status !== entry.exp.status) {
        announce(`${entry.title}: export ${fmt.STATUS_LABEL[exp.status] || exp.status}`);
        entry.exp = exp;
        entry.item.dataset.status = exp.status;
        entry.item.replaceChildren(...runItem(exp, entry.dataset));
      }
    }
    return [...watched.values()].some((e) => fmt.isRunning(e.exp.status));
  };
  const polling = poller(refresh);
  const started = {
    add(exp, item) {
      const dataset = items.find((d) => d.name === exp.export_parameters?.dataset) || { title: "Dataset export", parameters: [] };
      watched.set(exp.export_id, { exp, item, dataset, title: dataset.title });
      item.dataset.status = exp.status;
      item.replaceChildren(...runItem(exp, dataset));
      polling.watch(fmt.isRunning(exp.status));
    },
  };
  return {
    title: "Datasets",
    node: h(
      "div",
      {},
      h("h1", { tabindex: "-1" }, "Datasets"),
      h("p", { class: "hint" }, "Exports the operators defined. A run appears in your exports and downloads like any other."),
      items.length
        ? h("div", { class: "cards" }, items.map((d) => datasetCard(d, started)))
        : h("p", { class: "empty" }, "No dataset is available to you."),
    ),
    dispose: () => polling.dispose(),
  };
}
