// Small helpers the viewer pages share.

import { request } from "/static/hub-client.js";

const TOKEN_KEY = "hub-api-token";

/** The access token this browser keeps for a hub with HUB_API_TOKEN set, if any. */
export function apiToken() {
  return localStorage.getItem(TOKEN_KEY) || undefined;
}

/**
 * A call to this hub: resolves to the JSON answer or rejects with a HubError (message, status, problems).
 * A 401 asks the person for the hub's access token once, keeps it, and tries again.
 */
export async function api(path, options = {}) {
  const token = apiToken();
  try {
    return await request(location.origin, path, { ...options, token });
  } catch (error) {
    if (error.status !== 401) throw error;
    if (apiToken() === token) {
      const entered = window.prompt("This hub needs its access token (HUB_API_TOKEN):");
      if (!entered || !entered.trim()) throw error;
      localStorage.setItem(TOKEN_KEY, entered.trim());
    }
    return request(location.origin, path, { ...options, token: apiToken() });
  }
}

/** Makes an element: `element("li", {className: "x", dataset: {a: "1"}}, "text", child)`. */
export function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = properties;
  Object.assign(node, rest);
  Object.assign(node.dataset, dataset ?? {});
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const STATUS_WORDS = {
  pending: "Pending",
  running: "Running",
  retrying: "Retrying",
  waiting: "Waiting",
  resumed: "Resuming",
  completed: "Completed",
  failed: "Failed",
  skipped: "Skipped",
  cancelled: "Cancelled",
};

/** Shows a status as a symbol, a word and a colour (the stylesheet adds the symbol and the colour). */
export function setStatus(node, status) {
  node.classList.add("status");
  node.dataset.status = status;
  node.textContent = STATUS_WORDS[status] ?? status;
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return seconds < 10 ? `${seconds.toFixed(2)} s` : `${seconds.toFixed(1)} s`;
}

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);
