// /signin: a user name (an admin switch, an optional e-mail address) against the local issuer; in AWS,
// the hosted sign-in.

import { beginHostedSignIn, finishHostedSignIn, signInLocal } from "./auth.js";
import { config } from "./config.js";
import { h, uid } from "./dom.js";

export async function signinPage({ query, navigate }) {
  const next = safeNext(query.get("next"));
  const { auth } = config();
  const error = h("p", { class: "error", role: "alert", id: uid("signin-error") });

  if (auth.mode !== "local") {
    if (query.get("code") || query.get("error")) {
      try {
        navigate(await finishHostedSignIn(query), { replace: true });
        return null;
      } catch (e) {
        error.textContent = e.message;
      }
    }
    return {
      title: "Sign in",
      node: h(
        "div",
        { class: "narrow" },
        h("h1", { tabindex: "-1" }, "Sign in"),
        h("p", {}, "Sign in with your organisation account to request, download and share exports."),
        h("button", { type: "button", onclick: () => beginHostedSignIn(next) }, "Continue to sign-in"),
        error,
      ),
    };
  }

  const nameId = uid("user");
  const adminId = uid("admin");
  const name = h("input", {
    id: nameId,
    name: "user_id",
    type: "text",
    required: true,
    autocomplete: "username",
    spellcheck: "false",
    "aria-describedby": error.id,
  });
  const admin = h("input", { id: adminId, type: "checkbox", role: "switch" });
  const emailId = uid("email");
  const emailHint = h("p", { class: "hint", id: uid("email-hint") }, "The token then carries it as a verified address, as your organisation's sign-in would, so “E-mail me when it's done” can write to it.");
  const email = h("input", {
    id: emailId,
    name: "email",
    type: "email",
    autocomplete: "email",
    spellcheck: "false",
    "aria-describedby": `${emailHint.id} ${error.id}`,
  });
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        if (!name.value.trim()) {
          error.textContent = "Type a user name, for example alice.";
          name.focus();
          return;
        }
        try {
          await signInLocal(name.value.trim(), admin.checked, email.value.trim());
          navigate(next, { replace: true });
        } catch (e) {
          error.textContent = e.message;
          (/^email\b/.test(e.message) ? email : name).focus();
        }
      },
    },
    h("label", { for: nameId }, "User name"),
    name,
    h("div", { class: "switch" }, admin, h("label", { for: adminId }, "Sign in as an admin (may open, share and delete any export)")),
    h("label", { for: emailId }, "E-mail (optional)"),
    email,
    emailHint,
    error,
    h("button", { type: "submit" }, "Sign in"),
  );
  return {
    title: "Sign in",
    node: h(
      "div",
      { class: "narrow" },
      h("h1", { tabindex: "-1" }, "Sign in"),
      h("p", { class: "hint" }, "Local stack: any user name works; the token comes from the local issuer, not Cognito."),
      form,
    ),
    focus: name,
  };
}

/** Only a path on this site, never an absolute URL someone put in ?next=. */
function safeNext(value) {
  return value && /^\/(?![/\\])/.test(value) && !value.startsWith("/signin") ? value : "/exports";
}
