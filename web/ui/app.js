// The single-page app: config, sign-in state, History API routing, one page at a time.

import { session, signOut } from "./auth.js";
import { capturesAvailable, capturesPage } from "./captures.js";
import { loadConfig } from "./config.js";
import { detailPage } from "./detail.js";
import { datasetsPage } from "./datasets.js";
import { h } from "./dom.js";
import { exportsPage } from "./exports.js";
import { startCountdowns } from "./format.js";
import { newExportPage } from "./new.js";
import { schedulesPage } from "./schedules.js";
import { signinPage } from "./signin.js";

const ROUTES = [
  [/^\/signin$/, signinPage, { open: true }],
  [/^\/exports$/, exportsPage],
  [/^\/exports\/new$/, newExportPage],
  [/^\/exports\/([^/]+)$/, detailPage],
  [/^\/datasets$/, datasetsPage],
  [/^\/schedules$/, schedulesPage],
  [/^\/captures$/, capturesPage],
];

const main = document.getElementById("main");
let current = null;
let generation = 0;

function header() {
  const me = session();
  document.getElementById("nav-links").hidden = !me;
  document.getElementById("who").hidden = !me;
  document.getElementById("who-name").textContent = me ? `${me.name}${me.isAdmin ? " (admin)" : ""}` : "";
  for (const link of document.querySelectorAll("#nav-links a")) {
    const here = link.getAttribute("href") === location.pathname;
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** Go to ``path``; ``state`` (flash, focus) reaches the page. */
export async function navigate(path, state = {}) {
  const url = new URL(path, location.origin);
  if (state.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  await render(state);
}

async function render(state = {}) {
  const mine = ++generation;
  current?.dispose?.();
  current = null;
  let path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/") {
    history.replaceState(null, "", "/exports");
    path = "/exports";
  }
  const match = ROUTES.map(([re, page, opts]) => [re.exec(path), page, opts || {}]).find(([m]) => m);
  if (!match) {
    show({ title: "Not found", node: h("div", {}, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, h("a", { href: "/exports" }, "Go to your exports"))) });
    return;
  }
  const [m, page, opts] = match;
  if (!opts.open && !session()) {
    navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  }
  header();
  main.setAttribute("aria-busy", "true");
  try {
    const result = await page({ params: m.slice(1).map(decodeURIComponent), query: new URLSearchParams(location.search), navigate, ...state });
    if (mine !== generation) {
      result?.dispose?.();
      return;
    }
    if (result) show(result, state);
  } catch (error) {
    if (mine !== generation) return;
    const missing = error.status === 404;
    show({
      title: missing ? "Not found" : "Error",
      node: h(
        "div",
        {},
        h("h1", { tabindex: "-1" }, missing ? "Not found" : "Something went wrong"),
        h("p", { class: "notice", role: "alert" }, missing ? "This export does not exist, or it is not shared with you." : error.message),
        h("p", {}, h("a", { href: "/exports" }, "Back to your exports")),
      ),
    });
  } finally {
    if (mine === generation) main.removeAttribute("aria-busy");
  }
}

function show(result, state = {}) {
  current = result;
  document.title = `${result.title} · Exports`;
  main.replaceChildren(result.node);
  header();
  const target = (state.focus && main.querySelector(`[data-export-id="${CSS.escape(state.focus)}"] a`)) || result.focus || main.querySelector("h1");
  target?.focus();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute("download") || !ROUTES.some(([re]) => re.test(url.pathname))) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", () => render());
window.addEventListener("unauthorized", () => {
  if (location.pathname !== "/signin") navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, { replace: true });
});

document.getElementById("sign-out").addEventListener("click", async () => {
  if (!(await signOut())) navigate("/signin", { replace: true });
});

async function boot() {
  try {
    await loadConfig();
  } catch (error) {
    main.replaceChildren(h("h1", {}, "The page could not start"), h("p", { class: "notice", role: "alert" }, error.message));
    return;
  }
  startCountdowns();
  capturesAvailable().then((yes) => (document.getElementById("nav-captures").hidden = !yes));
  await render();
  document.documentElement.dataset.ready = "true";
}

boot();
