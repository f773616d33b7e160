// /captures: start a capture of the event channel for a while, count down, download the CSV.
// Shown only when the API has /captures (its OpenAPI document says so). A capture is an export
// of kind "capture" (one job model), so the list and the download are the exports API's.

import { api, exportsApi } from "./api.js";
import { config } from "./config.js";
import { download, progress, statusBadge } from "./card.js";
import { h, uid } from "./dom.js";
import * as fmt from "./format.js";
import { poller } from "./poll.js";

let capturesPath = null;

/** The API's path for starting captures (…/captures in its OpenAPI document), or null when it has none. */
export async function capturesAvailable() {
  capturesPath ??= fetch(`${config().apiUrl}/openapi.json`, { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : {}))
    .then((doc) => Object.keys(doc.paths || {}).find((path) => /\/captures$/.test(path) && doc.paths[path].post) || null)
    .catch(() => null);
  return capturesPath;
}

/** Seconds the capture was asked to run, from its parameters ("60s", 60, or duration_seconds). */
function durationSeconds(exp) {
  const p = exp.export_parameters || {};
  const raw = p.duration_seconds ?? p.duration ?? p.capture?.duration_seconds ?? p.capture?.duration;
  if (typeof raw === "number") return raw;
  const match = /^(\d+)\s*([smh]?)$/.exec(String(raw ?? ""));
  if (!match) return null;
  return Number(match[1]) * { "": 1, s: 1, m: 60, h: 3600 }[match[2]];
}

function captureCard(exp, onError) {
  const seconds = durationSeconds(exp);
  const start = exp.started_at || exp.created_at;
  const ends = seconds && start ? new Date(new Date(start).getTime() + seconds * 1000).toISOString() : null;
  const titleId = uid("capture");
  return h(
    "article",
    { class: "card", "aria-labelledby": titleId, dataset: { exportId: exp.export_id, status: exp.status } },
    h("header", {}, h("h3", { id: titleId }, `Capture of ${seconds ? fmt.duration(seconds * 1000) : "?"}`), statusBadge(exp.status)),
    exp.status === "pending" && !exp.started_at
      ? h("p", {}, "Waiting to start; the window opens when the capture function picks it up.")
      : fmt.isRunning(exp.status) && ends
      ? h("p", {}, "Ends ", h("span", { dataset: { countdown: ends, countdownDone: "now; writing the file" } }, fmt.expiry(ends)))
      : progress(exp),
    exp.status === "failed" && h("p", { class: "error" }, exp.message),
    h("dl", {}, h("div", {}, h("dt", {}, "Started"), h("dd", {}, fmt.date(start)))),
    h(
      "div",
      { class: "actions" },
      exp.status === "completed" &&
        h("button", { type: "button", onclick: () => download(exp).catch((e) => onError(e.message)) }, "Download CSV"),
      h("a", { href: `/exports/${encodeURIComponent(exp.export_id)}` }, "Details"),
    ),
  );
}

export async function capturesPage() {
  const path = await capturesAvailable();
  if (!path) {
    return {
      title: "Captures",
      node: h("div", {}, h("h1", { tabindex: "-1" }, "Captures"), h("p", { class: "empty" }, "This deployment does not offer captures yet.")),
    };
  }
  const list = h("div", { class: "cards" });
  const alert = h("div", { class: "notice", role: "alert", hidden: true });
  const showError = (m) => {
    alert.textContent = m;
    alert.hidden = !m;
  };
  const refresh = async () => {
    const page = await exportsApi.list(null, 100);
    const captures = page.items.filter((e) => e.kind === "capture");
    list.replaceChildren(...(captures.length ? captures.map((e) => captureCard(e, showError)) : [h("p", { class: "empty" }, "No captures yet. Start one above.")]));
    return captures.some((e) => fmt.isRunning(e.status));
  };
  const polling = poller(refresh);
  const secondsId = uid("seconds");
  const seconds = h("input", { id: secondsId, type: "number", min: "1", max: "3600", value: "60", required: true, inputmode: "numeric" });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await api(path, { method: "POST", body: { duration: `${seconds.value}s` } });
          polling.watch(await refresh());
        } catch (e) {
          error.textContent = e.message;
          seconds.focus();
        }
      },
    },
    h("label", { for: secondsId }, "Duration in seconds"),
    h("div", { class: "row" }, seconds, h("button", { type: "submit" }, "Start capture")),
    error,
  );
  try {
    polling.watch(await refresh());
  } catch (e) {
    showError(e.message);
  }
  return {
    title: "Captures",
    node: h(
      "div",
      {},
      h("h1", { tabindex: "-1" }, "Captures"),
      h("p", { class: "hint" }, "Records the event channel for the time you choose; identities are masked in the CSV."),
      form,
      alert,
      h("h2", {}, "Your captures"),
      list,
    ),
    dispose: () => polling.dispose(),
  };
}
