// One export as a card (the list) and the actions it offers.

import { exportsApi, fields } from "./api.js";
import { session } from "./auth.js";
import { announce, h, modal, uid } from "./dom.js";
import * as fmt from "./format.js";
import { summarize } from "./query.js";
import { shareManager } from "./share.js";

/** What a page shows of an export: all of it but the presigned URL, which is fresh on every fetch. */
export function shownState(exp) {
  return JSON.stringify({ ...exp, url: null });
}

export function canManage(exp) {
  const me = session();
  return Boolean(me && (me.userId === exp.creator_id || me.isAdmin));
}

/** Field names for catalogue paths (falls back to the paths while the catalogue loads or fails). */
export async function fieldNames(paths) {
  try {
    const byPath = new Map((await fields()).map((f) => [f.path, f.name]));
    return paths.map((p) => byPath.get(p) || p);
  } catch {
    return paths;
  }
}

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, fmt.STATUS_LABEL[status] || status);
}

/** The progress bar and its words: "120 of 600 rows", or an indeterminate bar while counting. */
export function progress(exp) {
  const { rows_written: written = 0, rows_total: total } = exp.progress || {};
  const id = uid("progress");
  if (fmt.isRunning(exp.status)) {
    const label =
      exp.status === "pending"
        ? exp.kind === "applications"
          ? "Waiting for the applications to answer"
          : exp.attempt > 1
          ? `Waiting to retry (attempt ${exp.attempt} of ${exp.max_retries + 1})`
          : "Waiting for a worker"
        : total !== null && total !== undefined
          ? `${fmt.number(written)} of ${fmt.number(total)} rows`
          : `${fmt.number(written)} rows so far`;
    const bar =
      exp.status === "processing" && total
        ? h("progress", { max: total, value: written, "aria-labelledby": id })
        : h("progress", { "aria-labelledby": id });
    return h("div", { class: "progress" }, bar, h("span", { id }, label));
  }
  if (exp.status === "completed" && exp.kind === "applications") {
    const asked = exp.export_parameters?.sources?.length ?? written;
    return h("p", { class: "muted" }, `${fmt.number(written)} of ${fmt.number(asked)} parts · ${fmt.bytes(exp.size_bytes)}`);
  }
  if (exp.status === "completed") {
    return h("p", { class: "muted" }, `${fmt.number(written)} rows · ${fmt.bytes(exp.size_bytes)}`);
  }
  return null;
}

/** Fetch a fresh presigned URL (they live minutes) and let the browser download it. */
export async function download(exp) {
  const fresh = await exportsApi.get(exp.export_id);
  if (!fresh.url) throw new Error(`this export is ${fresh.status}; there is nothing to download`);
  window.location.assign(fresh.url);
}

export async function confirmDelete(exp) {
  const answer = await modal(
    "Delete this export?",
    h(
      "p",
      {},
      "The file is removed for you",
      exp.shared_with.length ? ` and the ${exp.shared_with.length} people it is shared with` : "",
      ". This cannot be undone.",
    ),
    [
      { label: "Cancel", value: "cancel", kind: "secondary", autofocus: true },
      { label: "Delete export", value: "delete", kind: "danger" },
    ],
  );
  if (answer !== "delete") return false;
  await exportsApi.remove(exp.export_id);
  announce("Export deleted");
  return true;
}

export function openShareDialog(exp, onChange) {
  return modal(`Share “${shortSummary(exp)}”`, shareManager(exp, onChange), [
    { label: "Done", value: "done", kind: "secondary" },
  ]);
}

/** What an export is of, in words: its query, a capture's window and channel, a dataset, or its sources. */
export function describe(exp) {
  const params = exp.export_parameters || {};
  if (exp.kind === "applications") {
    const sources = (params.sources || []).map((s) => `${s.application}/${s.resource}`);
    return `“${params.name}” from ${sources.join(", ")}`;
  }
  if (exp.kind === "capture") {
    const window = params.duration_seconds ? fmt.duration(params.duration_seconds * 1000) : "a window";
    return `capture of ${window} on ${params.channel || "the event channel"}`;
  }
  if (exp.kind === "dataset") {
    const values = Object.entries(params.parameters || {}).map(([k, v]) => `${k} ${v}`);
    return `dataset ${params.dataset}${values.length ? ` (${values.join(", ")})` : ""}`;
  }
  return params.query ? summarize(params.query) : exp.kind;
}

/** What the download button says: the file's kind. */
export function downloadLabel(exp) {
  if (exp.kind === "capture") return "Download CSV";
  if (exp.kind === "dataset") return `Download ${exp.export_parameters?.format || "csv.gz"}`;
  return "Download ZIP";
}

export function shortSummary(exp, max = 90) {
  const text = describe(exp);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * A card; ``actions`` = {onDeleted(exp), onChanged(exp), onError(message)}.
 * Buttons carry data-action so focus can be put back after the card is re-rendered.
 */
export function exportCard(exp, names, actions) {
  const titleId = uid("card-title");
  const manage = canManage(exp);
  const me = session();
  const run = (fn) => async () => {
    try {
      await fn();
    } catch (e) {
      actions.onError(e.message);
    }
  };
  const buttons = [];
  if (exp.status === "completed" && exp.url) {
    buttons.push(
      h(
        "button",
        { type: "button", dataset: { action: "download" }, onclick: run(() => download(exp)) },
        downloadLabel(exp),
      ),
    );
  }
  if (manage) {
    buttons.push(
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          dataset: { action: "share" },
          onclick: run(() => openShareDialog(exp, actions.onChanged)),
        },
        "Share",
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          dataset: { action: "delete" },
          onclick: run(async () => {
            if (await confirmDelete(exp)) actions.onDeleted(exp);
          }),
        },
        "Delete",
      ),
    );
  }
  const params = exp.export_parameters;
  return h(
    "article",
    { class: "card", "aria-labelledby": titleId, dataset: { exportId: exp.export_id, status: exp.status } },
    h(
      "header",
      {},
      h("h3", { id: titleId }, h("a", { href: `/exports/${encodeURIComponent(exp.export_id)}` }, shortSummary(exp))),
      statusBadge(exp.status),
    ),
    progress(exp),
    exp.status === "failed" && exp.message && h("p", { class: "error" }, exp.message),
    h(
      "dl",
      {},
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, fmt.date(exp.created_at))),
      names.length > 0 &&
        h("div", {}, h("dt", {}, "Fields"), h("dd", {}, names.join(", "), params.include_images ? "; with images" : "")),
      exp.expires_at &&
        h(
          "div",
          {},
          h("dt", {}, "Expires"),
          h("dd", {}, h("span", { dataset: { countdown: exp.expires_at, countdownDone: "expired" } }, fmt.expiry(exp.expires_at))),
        ),
      me && exp.creator_id !== me.userId && h("div", {}, h("dt", {}, "Shared by"), h("dd", {}, exp.creator_id)),
      exp.shared_with.length > 0 && h("div", {}, h("dt", {}, "Shared with"), h("dd", {}, exp.shared_with.join(", "))),
    ),
    h(
      "div",
      { class: "actions" },
      buttons,
      h("a", { href: `/exports/${encodeURIComponent(exp.export_id)}`, "aria-label": `Details of ${shortSummary(exp, 40)}` }, "Details"),
    ),
  );
}
