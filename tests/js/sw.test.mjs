// static/sw.js in Node: its push and notificationclick handlers, given what a browser gives a service worker.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import vm from "node:vm";

const SOURCE = await readFile(new URL("../../static/sw.js", import.meta.url), "utf8");

function serviceWorker(windows = []) {
  const listeners = {};
  const shown = [];
  const opened = [];
  const self = {
    location: { origin: "https://hub.example.com" },
    addEventListener: (type, listener) => {
      listeners[type] = listener;
    },
    registration: { showNotification: async (title, options) => shown.push({ title, options }) },
    clients: {
      matchAll: async () => windows,
      openWindow: async (url) => opened.push(url),
    },
  };
  vm.runInNewContext(SOURCE, { self, URL, encodeURIComponent });
  async function dispatch(type, event) {
    let pending = Promise.resolve();
    listeners[type]({ ...event, waitUntil: (promise) => (pending = promise) });
    await pending;
  }
  return { dispatch, shown, opened };
}

const pushed = (notice) => ({ data: { json: () => notice } });

test("a push shows '<workflow> completed' tagged with its execution", async () => {
  const worker = serviceWorker();
  const notice = { executionId: "e1", workflowName: "Nightly report", status: "completed", url: "/ui/executions/e1" };
  await worker.dispatch("push", pushed(notice));
  assert.equal(worker.shown.length, 1);
  assert.equal(worker.shown[0].title, "Nightly report completed");
  assert.equal(worker.shown[0].options.tag, "e1");
});

test("a push for a failed run shows '<workflow> failed' with the error", async () => {
  const worker = serviceWorker();
  await worker.dispatch("push", pushed({ executionId: "e2", workflowId: "sync", status: "failed", error: "SMTP refused" }));
  assert.equal(worker.shown[0].title, "sync failed");
  assert.equal(worker.shown[0].options.body, "SMTP refused");
});

test("a click opens the viewer at that execution", async () => {
  const worker = serviceWorker();
  await worker.dispatch("push", pushed({ executionId: "e3", workflowName: "W", status: "completed" }));
  let closed = false;
  const notification = { data: worker.shown[0].options.data, close: () => (closed = true) };
  await worker.dispatch("notificationclick", { notification });
  assert.ok(closed);
  assert.deepEqual(worker.opened, ["https://hub.example.com/ui/executions/e3"]);
});

test("a click focuses the viewer when it is already open", async () => {
  let focused = false;
  const open = { url: "https://hub.example.com/ui/executions/e4", focus: async () => (focused = true) };
  const worker = serviceWorker([open]);
  const notification = { data: { url: "/ui/executions/e4" }, close: () => {} };
  await worker.dispatch("notificationclick", { notification });
  assert.ok(focused);
  assert.deepEqual(worker.opened, []);
});
