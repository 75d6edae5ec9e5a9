// hub-client.js: watch a workflow execution live, in a browser or in Node 20, with no build step.
//
//   import { watchExecution, runWorkflow } from "./hub-client.js";
//   const { executionId } = await runWorkflow(baseUrl, { workflowId, workflow, inputs });
//   const watch = watchExecution(baseUrl, executionId, { onEvent, onSnapshot, onStatusChange });
//   ...
//   watch.close();
//
// The socket is the fast path; `GET /api/executions/{id}/events?after=` is the fallback. Both share one
// cursor (the last seq delivered), so whatever mix of the two carries the events, each seq is delivered
// once and in order.

const TERMINAL_EVENTS = new Set(["execution.completed", "execution.failed", "execution.cancelled"]);
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);
const CLOSE_DONE = 1000;
const CLOSE_TOO_SLOW = 4008;
// Bad request, unauthorized, forbidden, unknown execution: trying again cannot help.
const CLOSE_FATAL = new Set([4400, 4401, 4403, 4404]);
const PAGE_SIZE = 1000;

/** An answer from the hub that is not a success; `status` is the HTTP status, `problems` the 422 list. */
export class HubError extends Error {
  constructor(message, status, problems = []) {
    super(message);
    this.name = "HubError";
    this.status = status;
    this.problems = problems;
  }
}

/** Starts a workflow: `POST /api/workflows/execute`. Resolves to the 202 body ({executionId, ...}). */
export function runWorkflow(baseUrl, body, { token, fetch } = {}) {
  return request(baseUrl, "/api/workflows/execute", { method: "POST", body, token, fetch });
}

/**
 * Any REST call to the hub: resolves to the JSON answer, or rejects with a HubError carrying the hub's
 * message (and, for a 422, its problems). `body` is sent as JSON.
 */
export async function request(baseUrl, path, { method = "GET", body, token, fetch: fetchImpl } = {}) {
  // Called as a plain function: a browser's fetch throws "Illegal invocation" when called as another object's method.
  const doFetch = fetchImpl ?? globalThis.fetch;
  const headers = { ...authorization(token), ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const response = await doFetch(resolve(baseUrl, path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let answer = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    answer = null;
  }
  if (!response.ok) {
    throw new HubError(answer?.error ?? `The hub answered ${response.status}`, response.status, answer?.problems ?? []);
  }
  return answer;
}

/**
 * Watches one execution until it ends or `close()` is called; returns `{close, finished}`.
 *
 * `finished` resolves with the terminal event (or the terminal snapshot's execution), with null after
 * close(), and rejects with a HubError when the execution does not exist.
 */
export function watchExecution(baseUrl, executionId, options = {}) {
  return new ExecutionWatch(baseUrl, executionId, options);
}

class ExecutionWatch {
  constructor(baseUrl, executionId, options) {
    this.baseUrl = baseUrl;
    this.executionId = executionId;
    this.token = options.token;
    this.onEvent = options.onEvent ?? (() => {});
    this.onSnapshot = options.onSnapshot ?? (() => {});
    this.onStatusChange = options.onStatusChange ?? (() => {});
    this.onError = options.onError ?? (() => {});
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.maxSocketFailures = options.maxSocketFailures ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30000;
    // A socket counts as working once it delivers a message or stays open this long: proxies that accept
    // the upgrade and then cut the connection must not reset the failure count.
    this.stableMs = options.stableMs ?? 3000;
    this.fetch = options.fetch;
    this.WebSocket = options.WebSocket === undefined ? globalThis.WebSocket : options.WebSocket;

    this.lastSeq = Number.isInteger(options.after) ? options.after : null;
    this.highestSeen = this.lastSeq ?? 0;
    this.snapshotDelivered = false;
    this.status = null;
    this.stopped = false;
    this.failures = 0;
    this.socket = null;
    this.socketTimer = null;
    this.polling = false;
    this.pollTimer = null;
    this.fetching = false;
    this.fetchAgain = false;

    this.finished = new Promise((resolvePromise, rejectPromise) => {
      this.resolveFinished = resolvePromise;
      this.rejectFinished = rejectPromise;
    });
    this.finished.catch(() => {});
    this.close = this.close.bind(this);

    if (this.WebSocket) {
      this.openSocket();
    } else {
      this.startPolling();
    }
  }

  /** Stops watching: closes the socket, stops polling, and delivers nothing more. */
  close() {
    if (this.stopped) return;
    this.shutDown();
    this.resolveFinished(null);
  }

  shutDown() {
    this.stopped = true;
    this.polling = false;
    clearTimeout(this.pollTimer);
    clearTimeout(this.socketTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      clearTimeout(socket.stableTimer);
      try {
        socket.ws.close(CLOSE_DONE);
      } catch {
        // already closing
      }
    }
  }

  setStatus(status) {
    if (this.stopped || this.status === status) return;
    this.status = status;
    this.call(this.onStatusChange, status);
  }

  call(callback, ...args) {
    try {
      callback(...args);
    } catch (error) {
      console.error("hub-client: a callback threw", error);
    }
  }

  // -- the socket ------------------------------------------------------------------------------------

  socketUrl() {
    const url = new URL(resolve(this.baseUrl, `/ws/executions/${encodeURIComponent(this.executionId)}`));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.lastSeq !== null) url.searchParams.set("after", String(this.lastSeq));
    if (this.token) url.searchParams.set("token", this.token);
    return url.toString();
  }

  openSocket() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new this.WebSocket(this.socketUrl());
    } catch {
      this.socketLost(null, 0);
      return;
    }
    const socket = { ws, stable: false, stableTimer: null };
    this.socket = socket;
    ws.onopen = () => {
      if (this.socket !== socket) return;
      if (!this.polling) this.setStatus("live");
      socket.stableTimer = setTimeout(() => this.socketWorks(socket), this.stableMs);
    };
    ws.onmessage = (message) => {
      if (this.socket !== socket) return;
      this.socketWorks(socket);
      this.receive(JSON.parse(message.data), "socket");
    };
    // Some implementations (Node 20's) fire only `error` when the connection cannot be made, with no
    // `close` after it; whichever comes first ends this socket.
    ws.onerror = () => this.socketEnded(socket, 0);
    ws.onclose = (close) => this.socketEnded(socket, close.code);
  }

  socketEnded(socket, code) {
    clearTimeout(socket.stableTimer);
    if (this.socket !== socket) return;
    this.socket = null;
    try {
      socket.ws.close();
    } catch {
      // already closed
    }
    this.socketLost(socket, code);
  }

  socketWorks(socket) {
    if (socket.stable || this.stopped) return;
    socket.stable = true;
    this.failures = 0;
    if (this.polling) {
      this.polling = false;
      clearTimeout(this.pollTimer);
    }
    this.setStatus("live");
  }

  socketLost(socket, code) {
    this.socket = null;
    if (this.stopped) return;
    if (CLOSE_FATAL.has(code)) {
      this.fail(new HubError(`The hub refused to watch execution ${this.executionId} (close ${code})`, code));
      return;
    }
    if (code === CLOSE_TOO_SLOW) {
      this.openSocket();
      return;
    }
    this.failures = socket && socket.stable ? 1 : this.failures + 1;
    if (this.failures >= this.maxSocketFailures) {
      this.startPolling();
    } else if (!this.polling) {
      this.setStatus("reconnecting");
    }
    this.socketTimer = setTimeout(() => this.openSocket(), this.backoff(this.failures));
  }

  backoff(failures) {
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, failures - 1));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  // -- polling ---------------------------------------------------------------------------------------

  startPolling() {
    if (this.polling || this.stopped) return;
    this.polling = true;
    this.setStatus("polling");
    this.catchUp();
  }

  /** Reads what the store holds after the cursor; while polling, schedules the next read. */
  async catchUp() {
    if (this.fetching) {
      this.fetchAgain = true;
      return;
    }
    this.fetching = true;
    try {
      do {
        this.fetchAgain = false;
        await this.readStore();
      } while (!this.stopped && (this.fetchAgain || this.highestSeen > (this.lastSeq ?? 0)));
    } catch (error) {
      if (error instanceof HubError && isFatal(error.status)) {
        this.fail(error);
        return;
      }
    } finally {
      this.fetching = false;
    }
    if (this.polling && !this.stopped) {
      clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(() => this.catchUp(), this.pollIntervalMs);
    }
  }

  async readStore() {
    if (this.lastSeq === null) {
      const execution = await this.get(`/api/executions/${encodeURIComponent(this.executionId)}`);
      this.receive({ type: "snapshot", execution }, "poll");
      if (this.stopped) return;
    }
    for (;;) {
      const path = `/api/executions/${encodeURIComponent(this.executionId)}/events`;
      const page = await this.get(`${path}?after=${this.lastSeq}&limit=${PAGE_SIZE}`);
      for (const event of page.events) this.receive(event, "poll");
      if (this.stopped || page.events.length < PAGE_SIZE) return;
    }
  }

  get(path) {
    return request(this.baseUrl, path, { token: this.token, fetch: this.fetch });
  }

  // -- delivery: the one place the cursor moves ------------------------------------------------------

  receive(message, source) {
    if (this.stopped) return;
    if (message.type === "snapshot") {
      this.receiveSnapshot(message.execution);
      return;
    }
    if (this.lastSeq === null || message.seq <= this.lastSeq) return;
    if (message.seq !== this.lastSeq + 1) {
      // Never skip: a gap (a socket that started from an older cursor) is filled from the store.
      this.highestSeen = Math.max(this.highestSeen, message.seq);
      this.catchUp();
      return;
    }
    this.lastSeq = message.seq;
    this.highestSeen = Math.max(this.highestSeen, message.seq);
    this.call(this.onEvent, message, source);
    if (TERMINAL_EVENTS.has(message.type)) this.finish(message);
  }

  receiveSnapshot(execution) {
    if (this.snapshotDelivered) return;
    this.snapshotDelivered = true;
    if (this.lastSeq === null) {
      this.lastSeq = execution.lastSeq;
      this.highestSeen = Math.max(this.highestSeen, execution.lastSeq);
    }
    this.call(this.onSnapshot, execution);
    if (TERMINAL_STATUSES.has(execution.status)) this.finish(execution);
  }

  finish(result) {
    this.setStatus("done");
    this.shutDown();
    this.resolveFinished(result);
  }

  fail(error) {
    this.call(this.onError, error);
    this.setStatus("done");
    this.shutDown();
    this.rejectFinished(error);
  }
}

function resolve(baseUrl, path) {
  // Relative to the base, so that a hub served under a path prefix (https://example.com/hub) works.
  const base = baseUrl || globalThis.location.origin;
  return new URL(path.replace(/^\//, ""), base.endsWith("/") ? base : `${base}/`).toString();
}

function isFatal(status) {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function authorization(token) {
  return token ? { authorization: `Bearer ${token}` } : {};
}
