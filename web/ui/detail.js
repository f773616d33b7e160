// /exports/{id}: status, parameters, timestamps, failure, sharing, download, delete; an applications
// export's sources with their statuses and errors.

import { applicationsApi, exportsApi } from "./api.js";
import { sourcesSummary, sourcesTable } from "./applications.js";
import { canManage, confirmDelete, describe, download, downloadLabel, fieldNames, progress, shownState, statusBadge } from "./card.js";
import { announce, append, focusAction, focusedAction, h } from "./dom.js";
import * as fmt from "./format.js";
import { poller } from "./poll.js";
import { summarize } from "./query.js";
import { shareManager } from "./share.js";

/** The export, and for an applications export its sources (``view``, the upstream export object). */
async function load(id) {
  const exp = await exportsApi.get(id);
  const view = exp.kind === "applications" ? await applicationsApi.status(id) : null;
  return { exp, view };
}

/** What the page shows of it, to skip re-rendering when nothing changed. */
function shown({ exp, view }) {
  return shownState(exp) + JSON.stringify(view);
}

/** The status line: the badge and the progress, or for an applications export how its sources stand. */
function statusLine(exp, view) {
  if (!view) return h("p", { class: "status-line" }, statusBadge(exp.status), " ", progress(exp));
  return h("p", { class: "status-line" }, statusBadge(view.status), " ", h("span", {}, sourcesSummary(view)));
}

/** What an export asked for, as rows of the "What was asked for" list. */
function askedFor(exp, view, names, row) {
  const params = exp.export_parameters;
  if (view) return [row("Name", view.name), row("Format", view.format.toUpperCase())];
  if (exp.kind === "capture") return [row("Capture", describe(exp)), row("Channel", h("code", {}, params.channel || "—"))];
  if (exp.kind === "dataset") {
    return [
      row("Dataset", h("code", {}, params.dataset)),
      row(
        "Parameters",
        Object.keys(params.parameters || {}).length
          ? h("ul", { class: "plain" }, Object.entries(params.parameters).map(([k, v]) => h("li", {}, h("code", {}, k), ` = ${v}`)))
          : "none",
      ),
      row("Format", params.format || "csv.gz"),
    ];
  }
  return [
    row("Query", params.query ? summarize(params.query) : "—"),
    row("Fields", h("ul", { class: "plain" }, names.map((n, i) => h("li", {}, n, " ", h("code", {}, params.fields[i]))))),
    row("Images", params.include_images ? "included" : "not included"),
  ];
}

export async function detailPage({ params: [id], navigate }) {
  let { exp, view } = await load(id);
  const body = h("div", {});
  const alert = h("div", { class: "notice", role: "alert", hidden: true });
  const showError = (message) => {
    alert.textContent = message;
    alert.hidden = !message;
  };

  const row = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));

  async function render() {
    const names = await fieldNames(exp.export_parameters.fields || []);
    const params = exp.export_parameters;
    const manage = canManage(exp);
    const actions = h(
      "div",
      { class: "actions" },
      exp.status === "completed" &&
        exp.url &&
        h(
          "button",
          { type: "button", dataset: { action: "download" }, onclick: () => download(exp).catch((e) => showError(e.message)) },
          downloadLabel(exp),
        ),
      manage &&
        h(
          "button",
          {
            type: "button",
            class: "danger",
            dataset: { action: "delete" },
            onclick: async () => {
              try {
                if (await confirmDelete(exp)) navigate("/exports", { flash: "Export deleted." });
              } catch (e) {
                showError(e.message);
              }
            },
          },
          "Delete",
        ),
    );
    const focused = focusedAction(body);
    body.replaceChildren();
    append(body, [
      statusLine(exp, view),
      exp.status === "failed" && h("div", { class: "notice" }, h("strong", {}, "It failed: "), exp.message || "no reason recorded"),
      exp.status === "pending" && exp.message && h("p", { class: "hint" }, `Last attempt: ${exp.message}`),
      actions,
      view &&
        h(
          "section",
          { "aria-labelledby": "sources-heading" },
          h("h2", { id: "sources-heading" }, "Sources"),
          h("p", { class: "hint" }, "Each application uploads its part; the ZIP is made once every one has answered, without the parts that failed."),
          h("div", { class: "table-scroll" }, sourcesTable(view)),
        ),
      h(
        "section",
        { "aria-labelledby": "params-heading" },
        h("h2", { id: "params-heading" }, "What was asked for"),
        h(
          "dl",
          { class: "wide" },
          askedFor(exp, view, names, row),
          row("Created by", exp.creator_id),
          row("Export id", h("code", {}, exp.export_id)),
        ),
        params.query &&
          h("details", {}, h("summary", {}, "Query as JSON"), h("pre", { class: "code" }, JSON.stringify(params.query, null, 2))),
      ),
      h(
        "section",
        { "aria-labelledby": "times-heading" },
        h("h2", { id: "times-heading" }, "When"),
        h(
          "dl",
          { class: "wide" },
          row("Created", fmt.date(exp.created_at)),
          row("Started", fmt.date(exp.started_at)),
          row("Completed", fmt.date(exp.completed_at)),
          row("Last update", fmt.date(exp.updated_at)),
          row(
            "Expires",
            exp.expires_at
              ? [fmt.date(exp.expires_at), " (", h("span", { dataset: { countdown: exp.expires_at, countdownDone: "expired" } }, fmt.expiry(exp.expires_at)), ")"]
              : "—",
          ),
          row("Attempt", `${exp.attempt} of ${exp.max_retries + 1}`),
          exp.size_bytes !== null && row("Size", fmt.bytes(exp.size_bytes)),
        ),
      ),
    ]);
    focusAction(body, focused);
    return fmt.isRunning(exp.status);
  }

  // Built once: polling re-renders the rest, never a half-typed user id or the focus in here.
  const sharing = h(
    "section",
    { "aria-labelledby": "share-heading" },
    h("h2", { id: "share-heading" }, "Shared with"),
    canManage(exp)
      ? shareManager(exp, (changed) => {
          exp = changed;
        })
      : h("p", {}, exp.shared_with.length ? exp.shared_with.join(", ") : "Not shared with anyone."),
  );

  const polling = poller(async () => {
    const before = { exp, view };
    ({ exp, view } = await load(id));
    const [was, now] = view ? [before.view.status, view.status] : [before.exp.status, exp.status];
    if (was !== now) announce(`Export ${fmt.STATUS_LABEL[now] || now}`);
    if (shown(before) === shown({ exp, view })) return fmt.isRunning(exp.status);
    return render();
  });
  polling.watch(await render());

  return {
    title: "Export",
    node: h("div", {}, h("p", {}, h("a", { href: "/exports" }, "← All exports")), h("h1", { tabindex: "-1" }, "Export"), alert, body, sharing),
    dispose: () => polling.dispose(),
  };
}
