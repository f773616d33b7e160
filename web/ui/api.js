// The export service API: JSON in, JSON out, the bearer token on every call.

import { session } from "./auth.js";
import { config } from "./config.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const current = session();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(config().apiUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError(0, `the service could not be reached (${error.message})`);
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent("unauthorized"));
    throw new ApiError(401, "your session has ended; please sign in again");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.message || `${response.status} ${response.statusText}`);
  return data;
}

let catalogue = null;

/** GET /exports/fields, once per page load. */
export async function fields() {
  catalogue ??= api("/exports/fields").catch((error) => {
    catalogue = null;
    throw error;
  });
  return catalogue;
}

export const exportsApi = {
  list: (cursor, limit = 50) =>
    api(`/exports?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
  get: (id) => api(`/exports/${encodeURIComponent(id)}`),
  create: (body) => api("/exports", { method: "POST", body }),
  remove: (id) => api(`/exports/${encodeURIComponent(id)}`, { method: "DELETE" }),
  share: (id, userIds) => api(`/exports/${encodeURIComponent(id)}/share`, { method: "POST", body: { user_ids: userIds } }),
  unshare: (id, userIds) =>
    api(`/exports/${encodeURIComponent(id)}/unshare`, { method: "POST", body: { user_ids: userIds } }),
};

const enc = encodeURIComponent;

export const datasetsApi = {
  list: () => api("/datasets"),
  get: (name) => api(`/datasets/${enc(name)}`),
  run: (name, parameters, options = {}) => api(`/datasets/${enc(name)}/exports`, { method: "POST", body: { parameters, ...options } }),
};

export const schedulesApi = {
  list: () => api("/schedules"),
  get: (id) => api(`/schedules/${enc(id)}`),
  create: (body) => api("/schedules", { method: "POST", body }),
  change: (id, body) => api(`/schedules/${enc(id)}`, { method: "PATCH", body }),
  remove: (id) => api(`/schedules/${enc(id)}`, { method: "DELETE" }),
};

const APPLICATIONS = "/api/export/v1";

/** Application sources (the upstream export service's paths): the registry, a request, one export's sources. */
export const applicationsApi = {
  registry: () => api(`${APPLICATIONS}/applications`),
  create: (body) => api(`${APPLICATIONS}/exports`, { method: "POST", body }),
  status: (id) => api(`${APPLICATIONS}/exports/${enc(id)}/status`),
};
