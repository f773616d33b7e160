// The deployment's settings, generated at deploy time (CloudFront) or by the local stack.
//   {"apiUrl": "", "auth": {"mode": "local", "tokenUrl": "/local/token"}}
//   {"apiUrl": "https://…", "auth": {"mode": "oauth", "authorizeUrl", "tokenUrl", "logoutUrl", "clientId",
//    "redirectUri", "scopes"}}
//   {"apiUrl": "https://…", "auth": {"mode": "oidc", "issuer", "clientId", "redirectUri", "scopes"}}

let loaded = null;

export async function loadConfig() {
  if (!loaded) {
    const response = await fetch("/config.json", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
    const config = await response.json();
    config.apiUrl = (config.apiUrl || "").replace(/\/+$/, "");
    loaded = config;
  }
  return loaded;
}

export function config() {
  if (!loaded) throw new Error("config not loaded");
  return loaded;
}
