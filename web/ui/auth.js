// Who is signed in. The access token lives in sessionStorage (this tab only, gone when it closes)
// and is sent as a bearer header; no cookie is ever set, so the API never trusts one.
//
// local: POST {tokenUrl} {"user_id", "groups", "email"?} → {"access_token"} (the local stack's issuer).
// oauth / oidc: authorization code with PKCE (S256) against the Cognito Hosted UI or an OIDC issuer.

import { config } from "./config.js";

const TOKEN_KEY = "exports.token";
const PKCE_KEY = "exports.pkce";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function randomString(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** The claims of a JWT (not verified: the API verifies; this only labels the page). */
export function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload))));
  } catch {
    return {};
  }
}

function groupsOf(c) {
  const raw = c["cognito:groups"] ?? c.groups ?? [];
  return Array.isArray(raw) ? raw : String(raw).replace(/[[\]]/g, "").split(/[\s,]+/).filter(Boolean);
}

/** {token, userId, name, email, isAdmin} while a token is held and not expired, else null. */
export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const c = claims(token);
  if (!c.sub || (c.exp && c.exp * 1000 < Date.now() + 5000)) {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return {
    token,
    userId: c.sub,
    name: c.username || c["cognito:username"] || c.email || c.sub,
    email: c.email,
    isAdmin: groupsOf(c).includes("admin"),
  };
}

function keep(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** A token from the local issuer; with ``email``, it carries that address (verified) as Cognito's would. */
export async function signInLocal(userId, admin, email = "") {
  const { auth } = config();
  const response = await fetch(auth.tokenUrl, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: userId, groups: admin ? ["admin"] : [], ...(email ? { email } : {}) }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `sign-in failed (${response.status})`);
  keep(body.access_token);
}

async function endpoints() {
  const { auth } = config();
  if (auth.mode === "oidc") {
    const response = await fetch(`${auth.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
    const discovery = await response.json();
    return {
      authorizeUrl: discovery.authorization_endpoint,
      tokenUrl: discovery.token_endpoint,
      logoutUrl: discovery.end_session_endpoint,
    };
  }
  return { authorizeUrl: auth.authorizeUrl, tokenUrl: auth.tokenUrl, logoutUrl: auth.logoutUrl };
}

/** Off to the hosted sign-in page; it comes back to redirectUri with ?code=&state=. */
export async function beginHostedSignIn(next) {
  const { auth } = config();
  const verifier = randomString(48);
  const state = randomString(16);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, next }));
  const { authorizeUrl } = await endpoints();
  const url = new URL(authorizeUrl);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: (auth.scopes || ["openid", "email"]).join(" "),
    code_challenge_method: "S256",
    code_challenge: challenge,
    state,
  }).toString();
  window.location.assign(url.toString());
}

/** Trade the code for tokens; returns where to go next. Throws when the state does not match. */
export async function finishHostedSignIn(params) {
  const { auth } = config();
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!pending || pending.state !== params.get("state")) throw new Error("sign-in response did not match (state)");
  const { tokenUrl } = await endpoints();
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code: params.get("code"),
      redirect_uri: auth.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.access_token) throw new Error(body.error_description || body.error || "token exchange failed");
  keep(body.access_token);
  return pending.next || "/exports";
}

export async function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  const { auth } = config();
  if (auth.mode === "local") return false;
  const { logoutUrl } = await endpoints();
  if (!logoutUrl) return false;
  const url = new URL(logoutUrl);
  url.search = new URLSearchParams({ client_id: auth.clientId, logout_uri: new URL("/signin", location.origin).href });
  window.location.assign(url.toString());
  return true;
}
