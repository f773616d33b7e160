// /exports: my exports and, in their own section, those shared with me; polls while any run.

import { exportsApi } from "./api.js";
import { session } from "./auth.js";
import { exportCard, fieldNames, shortSummary, shownState } from "./card.js";
import { announce, focusAction, focusedAction, h, reconcile } from "./dom.js";
import { isRunning, STATUS_LABEL } from "./format.js";
import { poller } from "./poll.js";

export async function exportsPage({ flash }) {
  const me = session();
  const alert = h("div", { class: "notice", role: "alert", hidden: true });
  const mine = h("div", { class: "cards", id: "my-exports" });
  const shared = h("div", { class: "cards", id: "shared-exports" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const cards = new Map(); // export id → {shown, status, el}
  let items = [];
  let cursor = null;
  let loadedMore = false;

  const showError = (message) => {
    alert.textContent = message;
    alert.hidden = !message;
  };

  const actions = {
    onError: showError,
    onDeleted: (exp) => {
      items = items.filter((e) => e.export_id !== exp.export_id);
      render();
      document.getElementById("main").focus();
    },
    onChanged: (exp) => {
      items = items.map((e) => (e.export_id === exp.export_id ? exp : e));
      render();
    },
  };

  /** Replace only the cards whose export changed, keeping focus on the same button. */
  async function render() {
    const names = new Map();
    for (const exp of items) names.set(exp.export_id, await fieldNames(exp.export_parameters.fields || []));
    const place = (container, list, empty) => {
      const refocus = [];
      const nodes = list.map((exp) => {
        const shown = shownState(exp);
        const known = cards.get(exp.export_id);
        if (known && known.shown === shown) return known.el;
        const el = exportCard(exp, names.get(exp.export_id), actions);
        if (known) {
          refocus.push([el, focusedAction(known.el)]);
          if (isRunning(known.status) && !isRunning(exp.status)) {
            announce(`Export ${shortSummary(exp, 40)}: ${STATUS_LABEL[exp.status]}`);
          }
        }
        cards.set(exp.export_id, { shown, status: exp.status, el });
        return el;
      });
      reconcile(container, nodes.length ? nodes : [empty]);
      for (const [el, action] of refocus) focusAction(el, action);
    };
    place(
      mine,
      items.filter((e) => e.creator_id === me.userId),
      h(
        "div",
        { class: "empty" },
        h("p", {}, "You have not requested any exports yet."),
        h(
          "p",
          {},
          "Start one: choose which observations to match, which fields to include and whether to add the images. ",
          "You can leave this page; the export keeps running and appears here when it is ready to download.",
        ),
        h("a", { class: "button", href: "/exports/new" }, "New export"),
      ),
    );
    place(
      shared,
      items.filter((e) => e.creator_id !== me.userId),
      h("p", { class: "empty" }, "Nothing has been shared with you. When a colleague shares an export with your user id (",
        h("code", {}, me.userId), "), it appears here."),
    );
    more.hidden = !cursor;
    return items.some((e) => isRunning(e.status));
  }

  async function refresh() {
    const page = await exportsApi.list();
    if (loadedMore) {
      const fresh = new Map(page.items.map((e) => [e.export_id, e]));
      items = items.map((e) => fresh.get(e.export_id) || e);
    } else {
      items = page.items;
      cursor = page.next_cursor;
    }
    showError("");
    return render();
  }

  more.addEventListener("click", async () => {
    try {
      const page = await exportsApi.list(cursor);
      items = [...items, ...page.items];
      loadedMore = true;
      cursor = page.next_cursor;
      await render();
    } catch (e) {
      showError(e.message);
    }
  });

  const polling = poller(refresh);
  try {
    polling.watch(await refresh());
  } catch (e) {
    showError(e.message);
  }

  return {
    title: "My exports",
    node: h(
      "div",
      {},
      h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Exports"), h("a", { class: "button", href: "/exports/new" }, "New export")),
      flash && h("p", { class: "flash", role: "status" }, flash),
      alert,
      h("section", { "aria-labelledby": "mine-heading" }, h("h2", { id: "mine-heading" }, "My exports"), mine, more),
      h("section", { "aria-labelledby": "shared-heading" }, h("h2", { id: "shared-heading" }, "Shared with me"), shared),
    ),
    dispose: () => polling.dispose(),
  };
}
