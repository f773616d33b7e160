// Who an export is shared with: the list with a remove button each, and an add form.

import { exportsApi } from "./api.js";
import { announce, h, uid } from "./dom.js";

/** ``onChange(status)`` hears the export after every successful share or unshare. */
export function shareManager(exp, onChange) {
  const listId = uid("shared");
  const inputId = uid("share-with");
  const errorId = uid("share-error");
  const error = h("p", { id: errorId, class: "error", role: "alert" });
  const list = h("ul", { id: listId, class: "shared-list", "aria-label": "Shared with" });
  const input = h("input", {
    id: inputId,
    type: "text",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": errorId,
    placeholder: "user id, or several separated by commas",
  });
  let current = exp;

  const fail = (e) => {
    error.textContent = e.message;
    input.setAttribute("aria-invalid", "true");
  };

  const renderList = () => {
    list.replaceChildren(
      ...(current.shared_with.length
        ? current.shared_with.map((userId) =>
            h(
              "li",
              {},
              h("span", {}, userId),
              h(
                "button",
                {
                  type: "button",
                  class: "secondary small",
                  "aria-label": `Stop sharing with ${userId}`,
                  onclick: async () => {
                    error.textContent = "";
                    try {
                      current = await exportsApi.unshare(current.export_id, [userId]);
                      renderList();
                      announce(`No longer shared with ${userId}`);
                      onChange(current);
                      input.focus();
                    } catch (e) {
                      fail(e);
                    }
                  },
                },
                "Remove",
              ),
            ),
          )
        : [h("li", { class: "muted" }, "Not shared with anyone.")]),
    );
  };
  renderList();

  const form = h(
    "form",
    {
      class: "share-form",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        input.removeAttribute("aria-invalid");
        const ids = input.value
          .split(/[,\s]+/)
          .map((v) => v.trim())
          .filter(Boolean);
        if (!ids.length) {
          fail(new Error("Type the user id of a person to share with."));
          input.focus();
          return;
        }
        try {
          current = await exportsApi.share(current.export_id, ids);
          input.value = "";
          renderList();
          announce(`Shared with ${ids.join(", ")}`);
          onChange(current);
        } catch (e) {
          fail(e);
        }
        input.focus();
      },
    },
    h("label", { for: inputId }, "Share with user id"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Share")),
    error,
  );
  return h("div", { class: "share" }, list, form);
}
