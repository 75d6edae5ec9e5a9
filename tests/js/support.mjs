// Real processes for the Node tests: a hub stack started by tests/stack_server.py, a gate server whose
// endpoints answer only when a test releases them, and a WebSocket whose network a test can cut.

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { once } from "node:events";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Starts a hub, a worker and Redis; resolves to {url, stop()}. */
export async function startHub() {
  const python = process.env.HUB_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");
  const child = spawn(python, ["-m", "tests.stack_server"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`tests.stack_server exited with ${code} before it was ready`);
  });
  const [line] = await Promise.race([once(lines, "line"), exited]);
  const { url } = JSON.parse(line);
  return {
    url,
    async stop() {
      child.stdin.end();
      await once(child, "exit");
    },
  };
}

/** An HTTP server whose `/gate/{name}` requests wait until `release(name)`; http nodes call it. */
export async function startGates() {
  const waiting = new Map();
  const released = new Set();
  const server = createServer((request, response) => {
    const name = decodeURIComponent(request.url.replace(/^\/gate\//, ""));
    const reply = () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ gate: name }));
    };
    if (released.has(name)) reply();
    else waiting.set(name, reply);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    release(name) {
      released.add(name);
      waiting.get(name)?.();
      waiting.delete(name);
    },
    async stop() {
      for (const name of waiting.keys()) this.release(name);
      server.close();
      await once(server, "close");
    },
  };
}

/**
 * A WebSocket class on a network the test can cut: `cut()` drops every open socket and makes new ones
 * fail to connect (as a proxy that refuses upgrades does); `restore()` lets them through again. REST
 * calls are untouched, so polling keeps working.
 */
export function switchableNetwork() {
  const open = new Set();
  const network = { up: true };
  class SwitchableWebSocket extends WebSocket {
    constructor(url) {
      // Port 1 on loopback refuses at once: a real failed connection, not a simulated one.
      super(network.up ? url : "ws://127.0.0.1:1/");
      open.add(this);
      this.addEventListener("close", () => open.delete(this));
    }
  }
  network.WebSocket = SwitchableWebSocket;
  network.cut = () => {
    network.up = false;
    for (const socket of open) socket.close(4000, "network cut by the test");
  };
  network.restore = () => {
    network.up = true;
  };
  return network;
}

/** A workflow: a trigger, then one http node per gate, in a line, then an output. */
export function gatedWorkflow(gatesUrl, names, id = "gated") {
  const nodes = [
    { id: "start", type: "trigger", label: "Start", config: {} },
    ...names.map((name) => ({ id: name, type: "http", label: `Step ${name}`, config: { url: `${gatesUrl}/gate/${name}` } })),
    { id: "result", type: "output", label: "Result", config: {} },
  ];
  const connections = nodes.slice(1).map((node, index) => ({ fromNodeId: nodes[index].id, toNodeId: node.id }));
  return { id, name: id, nodes, connections };
}

/** Resolves when `check()` is truthy; polls every 20 ms and fails after `timeoutMs` with `what`. */
export async function until(check, what, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function storedEvents(baseUrl, executionId) {
  const response = await fetch(`${baseUrl}/api/executions/${executionId}/events?after=0`);
  return (await response.json()).events;
}
