// Small helpers the viewer pages share.

import { request } from "/static/hub-client.js";

/** A call to this hub: resolves to the JSON answer or rejects with a HubError (message, status, problems). */
export function api(path, options = {}) {
  return request(location.origin, path, options);
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
