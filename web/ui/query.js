// The query tree {method, args}: a readable summary, and a builder that edits it.
//
// Builder model: a group {kind: "group", method: AND|OR|NOT, children, implicit} or a condition
// {kind: "leaf", method, values, raw}. The root is always a group; an "implicit" root (a fresh
// builder, or JSON whose root is a condition) with one child serialises to that child alone, so
// JSON → builder → JSON gives back what was typed. A date keeps its original epoch string until
// it is edited.

import { h, uid } from "./dom.js";

export const COMBINATORS = {
  AND: "all of these (AND)",
  OR: "any of these (OR)",
  NOT: "not this (NOT)",
};

export const CONDITIONS = {
  PLATFORM_EQUALS: { label: "Platform is", kind: "multi", hint: "any of the platforms" },
  OBSERVER_ID_CONTAINS: { label: "Observer id contains", kind: "multi", hint: "any of the texts" },
  OBSERVATION_ID_CONTAINS: { label: "Observation id contains", kind: "multi", hint: "any of the texts" },
  DATETIME_AFTER: { label: "Observed after", kind: "date" },
  DATETIME_BEFORE: { label: "Observed before", kind: "date" },
};

export const PLATFORMS = ["FACEBOOK", "INSTAGRAM", "TIKTOK", "YOUTUBE"];

const SUMMARY = {
  PLATFORM_EQUALS: "platform is",
  OBSERVER_ID_CONTAINS: "observer id contains",
  OBSERVATION_ID_CONTAINS: "observation id contains",
  DATETIME_AFTER: "observed after",
  DATETIME_BEFORE: "observed before",
};

/** A UTC date-time for a millisecond epoch string, as a person reads it. */
export function epochLabel(ms) {
  const date = new Date(Number(ms));
  if (!/^\d+$/.test(String(ms)) || Number.isNaN(date.getTime())) return JSON.stringify(ms);
  const iso = date.toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

/** "platform is INSTAGRAM and (observer id contains "a1" or "b2")". */
export function summarize(node, top = true) {
  if (!node || typeof node !== "object") return String(node);
  const args = Array.isArray(node.args) ? node.args : [];
  if (node.method === "AND" || node.method === "OR") {
    const text = args.map((a) => summarize(a, false)).join(node.method === "AND" ? " and " : " or ");
    return top || args.length < 2 ? text : `(${text})`;
  }
  if (node.method === "NOT") return `not ${summarize(args[0], false)}`;
  const verb = SUMMARY[node.method] || String(node.method).toLowerCase();
  const values = node.method?.startsWith("DATETIME_")
    ? args.map(epochLabel)
    : args.map((a) => (node.method === "PLATFORM_EQUALS" ? String(a) : JSON.stringify(a)));
  return `${verb} ${values.join(" or ")}`;
}

// ---- model ---------------------------------------------------------------------------------

export function newLeaf(method = "PLATFORM_EQUALS") {
  return { kind: "leaf", method, values: [], raw: null };
}

export function newGroup(method = "AND", children = [newLeaf()], implicit = false) {
  return { kind: "group", method, children, implicit };
}

export class NotRepresentable extends Error {}

function fromNode(node, where) {
  if (!node || typeof node !== "object" || Array.isArray(node)) throw new NotRepresentable(`${where} is not an object`);
  const { method, args } = node;
  if (!Array.isArray(args)) throw new NotRepresentable(`${where} has no list 'args'`);
  if (method in COMBINATORS) {
    return newGroup(method, args.map((a, i) => fromNode(a, `${where}.args[${i}]`)));
  }
  if (method in CONDITIONS) {
    if (!args.every((a) => typeof a === "string")) throw new NotRepresentable(`${where}: the values must be strings`);
    if (CONDITIONS[method].kind === "date") {
      if (args.length !== 1) throw new NotRepresentable(`${where}: ${method} takes one date`);
      return { kind: "leaf", method, values: [], raw: args[0] };
    }
    return { kind: "leaf", method, values: [...args], raw: null };
  }
  throw new NotRepresentable(`${where}: the builder does not know the method ${JSON.stringify(method)}`);
}

/** The builder model for a query; throws NotRepresentable for what it cannot show. */
export function fromQuery(query) {
  const root = fromNode(query, "query");
  return root.kind === "group" ? root : newGroup("AND", [root], true);
}

function toNode(node, path, paths) {
  paths.set(path, node);
  if (node.kind === "group") {
    return { method: node.method, args: node.children.map((c, i) => toNode(c, `${path}.args[${i}]`, paths)) };
  }
  const args = CONDITIONS[node.method].kind === "date" ? (node.raw ? [node.raw] : []) : [...node.values];
  return { method: node.method, args };
}

/** {query, paths}: the tree, and which model node each "query.args[i]…" path names. */
export function toQuery(root) {
  const paths = new Map();
  if (root.implicit && root.children.length === 1) {
    paths.set("root", root);
    return { query: toNode(root.children[0], "query", paths), paths };
  }
  return { query: toNode(root, "query", paths), paths };
}

/** "2025-01-01T00:00:00" (a datetime-local value, read as UTC) ↔ millisecond epoch string. */
export function epochFromInput(value) {
  if (!value) return null;
  const ms = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isNaN(ms) ? null : String(ms);
}

export function inputFromEpoch(raw) {
  if (!raw || !/^\d+$/.test(raw)) return "";
  const date = new Date(Number(raw));
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 19);
}

// ---- the builder UI ------------------------------------------------------------------------

/**
 * Renders and edits a model in ``container``. Structural edits re-render and put focus on
 * what changed; typing edits the model in place.
 */
export class QueryBuilder {
  constructor(container, root = newGroup("AND", [newLeaf()], true)) {
    this.container = container;
    this.root = root;
    this.errors = new Map(); // model node → message
    this.render();
  }

  setRoot(root) {
    this.root = root;
    this.errors.clear();
    this.render();
  }

  /** Commit half-typed values, then the query and its path map. */
  build() {
    for (const input of this.container.querySelectorAll("input[data-pending]")) input.dispatchEvent(new Event("change"));
    return toQuery(this.root);
  }

  showError(node, message) {
    this.errors.set(node, message);
    this.render(node);
  }

  clearErrors() {
    if (this.errors.size) {
      this.errors.clear();
      this.render();
    }
  }

  /** Re-render; then focus the control of model node ``focus`` (after add, remove, change). */
  render(focus) {
    this.controls = new Map(); // model node → its first control
    this.container.replaceChildren(this.group(this.root, null, 0));
    if (focus) this.controls.get(focus)?.focus();
  }

  errorSlot(node) {
    const id = uid("err");
    const message = this.errors.get(node);
    const slot = h("p", { id, class: "error", role: message ? "alert" : null, dataset: message ? { hasError: "" } : {} }, message);
    return { id, slot, describedby: message ? id : null };
  }

  group(node, parent, depth) {
    const legendId = uid("group");
    const { slot, describedby } = this.errorSlot(node);
    const select = h(
      "select",
      {
        "aria-labelledby": legendId,
        "aria-describedby": describedby,
        "aria-invalid": describedby ? "true" : null,
        onchange: (e) => {
          node.method = e.target.value;
          node.implicit = false;
          this.render(node);
        },
      },
      Object.entries(COMBINATORS).map(([value, label]) => h("option", { value, selected: node.method === value }, label)),
    );
    const children = h(
      "ol",
      { class: "children" },
      node.children.map((child, i) =>
        h("li", {}, child.kind === "group" ? this.group(child, node, depth + 1) : this.condition(child, node, i)),
      ),
    );
    this.controls.set(node, select);
    const full = node.method === "NOT" && node.children.length >= 1;
    const buttons = h(
      "div",
      { class: "row" },
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          disabled: full,
          onclick: () => {
            const leaf = newLeaf();
            node.children.push(leaf);
            this.render(leaf);
          },
        },
        "Add condition",
      ),
      depth < 6 &&
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            disabled: full,
            onclick: () => {
              const group = newGroup("OR");
              node.children.push(group);
              this.render(group);
            },
          },
          "Add group",
        ),
      parent &&
        h(
          "button",
          {
            type: "button",
            class: "danger link",
            onclick: () => {
              parent.children.splice(parent.children.indexOf(node), 1);
              this.render(parent);
            },
          },
          "Remove group",
        ),
    );
    return h(
      "fieldset",
      { class: "group" },
      h("legend", {}, h("span", { id: legendId }, parent ? "Group: match" : "Match"), " ", select),
      node.method === "NOT" && h("p", { class: "hint" }, "NOT takes exactly one condition or group."),
      children,
      slot,
      buttons,
    );
  }

  condition(node, parent, index) {
    const selectId = uid("cond");
    const { slot, describedby } = this.errorSlot(node);
    const select = h(
      "select",
      {
        id: selectId,
        "aria-describedby": describedby,
        "aria-invalid": describedby ? "true" : null,
        onchange: (e) => {
          const before = CONDITIONS[node.method].kind;
          node.method = e.target.value;
          if (CONDITIONS[node.method].kind !== before) {
            node.values = [];
            node.raw = null;
          }
          this.render(node);
        },
      },
      Object.entries(CONDITIONS).map(([value, { label }]) => h("option", { value, selected: node.method === value }, label)),
    );
    this.controls.set(node, select);
    const editor = CONDITIONS[node.method].kind === "date" ? this.dateEditor(node, describedby) : this.multiEditor(node, describedby);
    return h(
      "div",
      { class: "condition" },
      h("label", { for: selectId, class: "visually-hidden" }, `Condition ${index + 1}`),
      select,
      editor,
      h(
        "button",
        {
          type: "button",
          class: "danger link",
          "aria-label": `Remove condition ${index + 1}`,
          onclick: () => {
            parent.children.splice(parent.children.indexOf(node), 1);
            this.render(parent);
          },
        },
        "Remove",
      ),
      slot,
    );
  }

  dateEditor(node, describedby) {
    const id = uid("date");
    return h(
      "span",
      { class: "date" },
      h("label", { for: id, class: "visually-hidden" }, `${CONDITIONS[node.method].label} (UTC)`),
      h("input", {
        id,
        type: "datetime-local",
        step: "1",
        value: inputFromEpoch(node.raw),
        "aria-describedby": describedby,
        onchange: (e) => {
          node.raw = epochFromInput(e.target.value);
        },
      }),
      h("span", { class: "hint", "aria-hidden": "true" }, "UTC"),
    );
  }

  multiEditor(node, describedby) {
    const id = uid("values");
    const listId = uid("list");
    const chips = h("ul", { class: "chips", "aria-label": "Values" });
    const renderChips = () =>
      chips.replaceChildren(
        ...node.values.map((value, i) =>
          h(
            "li",
            {},
            h("span", {}, value),
            h(
              "button",
              {
                type: "button",
                class: "link",
                "aria-label": `Remove value ${value}`,
                onclick: () => {
                  node.values.splice(i, 1);
                  renderChips();
                  input.focus();
                },
              },
              "×",
            ),
          ),
        ),
      );
    const commit = () => {
      const added = input.value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean)
        .map((v) => (node.method === "PLATFORM_EQUALS" ? v.toUpperCase() : v));
      node.values.push(...added.filter((v) => !node.values.includes(v)));
      input.value = "";
      renderChips();
    };
    const input = h("input", {
      id,
      type: "text",
      list: node.method === "PLATFORM_EQUALS" ? listId : null,
      placeholder: "type, then Enter",
      autocomplete: "off",
      "aria-describedby": describedby,
      dataset: { pending: "" },
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === ",") {
          e.preventDefault();
          commit();
        } else if (e.key === "Backspace" && !input.value && node.values.length) {
          node.values.pop();
          renderChips();
        }
      },
      onchange: commit,
    });
    renderChips();
    return h(
      "span",
      { class: "multi" },
      h("label", { for: id, class: "visually-hidden" }, `${CONDITIONS[node.method].label}: ${CONDITIONS[node.method].hint}`),
      chips,
      input,
      node.method === "PLATFORM_EQUALS" && h("datalist", { id: listId }, PLATFORMS.map((p) => h("option", { value: p }))),
    );
  }
}
