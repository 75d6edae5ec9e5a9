// hub-client.js against a real hub, worker and Redis, in Node 20 (run with --experimental-websocket).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { runWorkflow, watchExecution, HubError } from "../../static/hub-client.js";
import { gatedWorkflow, startGates, startHub, storedEvents, switchableNetwork, until } from "./support.mjs";

let hub;
let gates;

before(async () => {
  [hub, gates] = await Promise.all([startHub(), startGates()]);
});

after(async () => {
  await Promise.all([hub?.stop(), gates?.stop()]);
});

function recorder() {
  const seen = { events: [], sources: [], statuses: [], snapshots: [] };
  seen.options = {
    onEvent: (event, source) => {
      seen.events.push(event);
      seen.sources.push(source);
    },
    onStatusChange: (status) => seen.statuses.push(status),
    onSnapshot: (execution) => seen.snapshots.push(execution),
  };
  seen.has = (type, nodeId) => seen.events.find((event) => event.type === type && event.nodeId === nodeId);
  return seen;
}

async function run(workflow) {
  const accepted = await runWorkflow(hub.url, { workflowId: workflow.id, workflow, inputs: {} });
  return accepted.executionId;
}

test("socket, drop, polling, socket again: every event once, in order, statuses in sequence", async () => {
  const steps = ["a", "b", "c"].map((name) => `${name}-${Date.now()}`);
  const executionId = await run(gatedWorkflow(gates.url, steps));
  const network = switchableNetwork();
  const seen = recorder();
  const watch = watchExecution(hub.url, executionId, {
    ...seen.options,
    after: 0,
    WebSocket: network.WebSocket,
    pollIntervalMs: 200,
    maxSocketFailures: 2,
    backoffMs: 50,
    maxBackoffMs: 400,
    stableMs: 300,
  });

  await until(() => seen.has("node.started", steps[0]), "the first step to start, live");
  gates.release(steps[0]);
  await until(() => seen.has("node.started", steps[1]), "the second step to start, live");

  network.cut();
  await until(() => seen.statuses.at(-1) === "polling", "polling after the socket failed");
  gates.release(steps[1]);
  await until(() => seen.has("node.started", steps[2]), "the third step to start, seen by polling");

  network.restore();
  await until(() => seen.statuses.at(-1) === "live", "the socket to be back");
  gates.release(steps[2]);
  const terminal = await watch.finished;

  assert.equal(terminal.type, "execution.completed");
  assert.deepEqual(seen.statuses, ["live", "reconnecting", "polling", "live", "done"]);
  assert.deepEqual(seen.events, await storedEvents(hub.url, executionId));
  assert.deepEqual(
    seen.events.map((event) => event.seq),
    seen.events.map((_, index) => index + 1),
  );
  const via = (type, nodeId) => seen.sources[seen.events.indexOf(seen.has(type, nodeId))];
  assert.equal(via("node.completed", steps[0]), "socket");
  assert.equal(via("node.completed", steps[1]), "poll");
  assert.equal(via("node.completed", steps[2]), "socket");
});

test("an execution that finished before the client connected gives its snapshot and ends", async () => {
  const executionId = await run(gatedWorkflow(gates.url, []));
  await waitUntilFinished(executionId);
  const seen = recorder();
  const terminal = await watchExecution(hub.url, executionId, seen.options).finished;

  assert.equal(terminal.status, "completed");
  assert.equal(seen.snapshots.length, 1);
  assert.equal(seen.snapshots[0].status, "completed");
  assert.deepEqual(seen.events, []);
  assert.equal(seen.statuses.at(-1), "done");
});

test("an execution that finished before the client connected replays every event from after=0", async () => {
  const executionId = await run(gatedWorkflow(gates.url, []));
  await waitUntilFinished(executionId);
  const seen = recorder();
  const terminal = await watchExecution(hub.url, executionId, { ...seen.options, after: 0 }).finished;

  assert.equal(terminal.type, "execution.completed");
  assert.deepEqual(seen.events, await storedEvents(hub.url, executionId));
});

test("without WebSocket support the client polls from the start to the end", async () => {
  const step = `solo-${Date.now()}`;
  const executionId = await run(gatedWorkflow(gates.url, [step]));
  const seen = recorder();
  const watch = watchExecution(hub.url, executionId, { ...seen.options, WebSocket: null, pollIntervalMs: 100 });
  await until(() => seen.snapshots.length === 1, "the snapshot read by polling");
  gates.release(step);
  await watch.finished;

  const lastSeq = seen.snapshots[0].lastSeq;
  const stored = await storedEvents(hub.url, executionId);
  assert.deepEqual(seen.events, stored.slice(lastSeq));
  assert.deepEqual(seen.statuses, ["polling", "done"]);
  assert.ok(seen.sources.every((source) => source === "poll"));
});

test("an unknown execution rejects over the socket with its 4404 close", async () => {
  const watch = watchExecution(hub.url, "no-such-execution");
  await assert.rejects(watch.finished, (error) => error instanceof HubError && error.status === 4404);
});

test("an unknown execution rejects over polling with the hub's 404", async () => {
  const watch = watchExecution(hub.url, "no-such-execution", { WebSocket: null });
  await assert.rejects(watch.finished, (error) => error instanceof HubError && error.status === 404);
});

test("runWorkflow rejects a bad workflow with the problems the hub names", async () => {
  const workflow = { id: "bad", nodes: [{ id: "x", type: "teleport" }] };
  await assert.rejects(runWorkflow(hub.url, { workflow }), (error) => {
    assert.equal(error.status, 422);
    assert.deepEqual(error.problems.map((problem) => problem.path), ["nodes[0].type"]);
    return true;
  });
});

async function waitUntilFinished(executionId) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const body = await (await fetch(`${hub.url}/api/executions/${executionId}`)).json();
    if (["completed", "failed", "cancelled"].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`execution stayed ${body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
