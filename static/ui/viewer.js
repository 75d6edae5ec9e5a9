// /ui/executions/{id}: one execution, live. The first read gives the nodes; then every event since seq 0
// is replayed and followed live, so a reload rebuilds the log and streamed tokens as well as the states.

import { watchExecution } from "/static/hub-client.js";
import { TERMINAL, api, apiToken, element, formatSeconds, formatTime, setStatus } from "/static/ui/common.js";
import { offerNotifications } from "/static/ui/notify.js";

const POLL_INTERVAL_MS = 2000;
const LOG_LIMIT = 2000;
const BADGE_WORDS = { connecting: "Connecting", live: "Live", reconnecting: "Reconnecting", polling: "Polling", done: "Finished" };

const executionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const $ = (id) => document.getElementById(id);
const nodes = new Map();
let execution = null;

function nodeView(node) {
  const status = element("span");
  const duration = element("span", { className: "duration" });
  const retries = element("span", { className: "retries" });
  const detail = element("div", { className: "detail" });
  const item = element(
    "li",
    { dataset: { nodeId: node.nodeId } },
    element("span", { className: "label", textContent: node.label }),
    element("span", { className: "type", textContent: node.nodeType }),
    element("span", {}, element("span", { className: "field-name", textContent: "Status: " }), status),
    element("span", {}, element("span", { className: "field-name", textContent: "Duration: " }), duration),
    element("span", {}, element("span", { className: "field-name", textContent: "Retries: " }), retries),
    detail,
  );
  return { item, status, duration, retries, detail, tokens: null, error: null };
}

function renderNode(state) {
  const view = state.view;
  view.item.dataset.status = state.status;
  setStatus(view.status, state.status);
  view.duration.textContent = formatSeconds(state.duration);
  const retries = Math.max(0, (state.attempts || 0) - 1);
  view.retries.textContent = retries ? `${retries} ${retries === 1 ? "retry" : "retries"}` : "none";
  if (state.error) {
    view.error ??= view.detail.appendChild(element("p", { className: "error" }));
    view.error.textContent = state.error;
  } else if (view.error) {
    view.error.remove();
    view.error = null;
  }
}

function setNode(nodeId, changes) {
  const state = nodes.get(nodeId);
  if (!state) return;
  Object.assign(state, changes);
  renderNode(state);
}

function appendTokens(nodeId, delta) {
  const state = nodes.get(nodeId);
  if (!state) return;
  const view = state.view;
  if (!view.tokens) {
    view.tokens = element("p", { className: "tokens", ariaLabel: `Streamed text of ${state.label}` });
    view.tokens.setAttribute("aria-live", "polite");
    view.detail.append(view.tokens);
  }
  view.tokens.textContent += delta;
}

function clearTokens(nodeId) {
  const view = nodes.get(nodeId)?.view;
  if (view?.tokens) {
    view.tokens.remove();
    view.tokens = null;
  }
}

function setExecutionStatus(status) {
  execution.status = status;
  setStatus($("status"), status);
  $("cancel").disabled = TERMINAL.has(status);
}

function setProgress(progress) {
  if (!progress) return;
  $("progress").value = progress.percentage;
  $("progress").textContent = `${progress.percentage} %`;
  $("percentage").textContent = `${progress.percentage} %`;
}

function setCurrentNode(nodeId) {
  for (const [id, state] of nodes) state.view.item.classList.toggle("current", id === nodeId);
  $("current-node").textContent = nodeId ? nodes.get(nodeId)?.label ?? nodeId : "None";
  $("current-node").dataset.nodeId = nodeId ?? "";
}

function log(event, text, level = "info") {
  const list = $("log");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const time = element("time", { dateTime: event.timestamp, textContent: new Date(event.timestamp).toLocaleTimeString() });
  list.append(element("li", { className: `level-${level}`, dataset: { seq: event.seq, type: event.type } }, time, text));
  while (list.children.length > LOG_LIMIT) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function showResult(finalOutput, error) {
  $("result").hidden = false;
  if (error) {
    $("error").hidden = false;
    $("error").textContent = error;
  }
  if (finalOutput !== undefined && finalOutput !== null) {
    $("final-output").hidden = false;
    $("final-output").textContent = JSON.stringify(finalOutput, null, 2);
  }
}

function label(event) {
  return nodes.get(event.nodeId)?.label ?? event.nodeId;
}

const HANDLERS = {
  "execution.started"(event) {
    setExecutionStatus("running");
    $("started").textContent = formatTime(event.timestamp);
    log(event, `Started on ${event.data.worker ?? "a worker"} (${event.data.engine ?? "engine"})`);
  },
  "execution.waiting"(event) {
    setExecutionStatus("waiting");
    setCurrentNode(null);
    log(event, event.data.resumeAt ? `Waiting until ${formatTime(event.data.resumeAt)}` : "Waiting for a resume call");
  },
  "execution.resumed"(event) {
    setExecutionStatus("running");
    log(event, "Resumed");
  },
  "execution.recovered"(event) {
    setExecutionStatus("running");
    log(event, `Recovered by ${event.data.worker} after ${event.data.previousWorker} stopped`, "warning");
  },
  "node.started"(event) {
    clearTokens(event.nodeId);
    setNode(event.nodeId, { status: "running", attempts: event.data.attempt, error: null });
    setCurrentNode(event.nodeId);
    log(event, `${label(event)} started${event.data.attempt > 1 ? ` (attempt ${event.data.attempt})` : ""}`);
  },
  "node.progress"(event) {
    if (typeof event.data.delta === "string") appendTokens(event.nodeId, event.data.delta);
    else log(event, `${label(event)}: ${JSON.stringify(event.data)}`);
  },
  "node.completed"(event) {
    setNode(event.nodeId, { status: "completed", duration: event.data.duration, error: null });
    log(event, `${label(event)} completed in ${formatSeconds(event.data.duration)}${event.data.message ? `: ${event.data.message}` : ""}`);
  },
  "node.failed"(event) {
    setNode(event.nodeId, { status: "failed", duration: event.data.duration, attempts: event.data.attempts, error: event.data.error });
    log(event, `${label(event)} failed: ${event.data.error}`, "error");
  },
  "node.skipped"(event) {
    setNode(event.nodeId, { status: "skipped" });
    log(event, `${label(event)} skipped: ${event.data.reason}`);
  },
  "node.retrying"(event) {
    setNode(event.nodeId, { status: "retrying", error: event.data.error });
    const delay = event.data.delaySeconds ? ` in ${event.data.delaySeconds} s` : "";
    log(event, `${label(event)} attempt ${event.data.attempt} of ${event.data.maxAttempts} failed (${event.data.error}); retrying${delay}`, "warning");
  },
  "node.timeout"(event) {
    log(event, `${label(event)} timed out after ${event.data.timeoutSeconds} s`, "warning");
  },
  "node.waiting"(event) {
    setNode(event.nodeId, { status: "waiting" });
    log(event, `${label(event)} waits ${event.data.resumeAt ? `until ${formatTime(event.data.resumeAt)}` : "for a resume call"}`);
  },
  log(event) {
    log(event, `${event.nodeId ? `${label(event)}: ` : ""}${event.data.message}`, event.data.level);
  },
  async "execution.completed"(event) {
    finished(event, "completed");
    log(event, `Completed in ${formatSeconds(event.data.durationSeconds)}`);
    const output = event.data.finalOutputTruncated ? (await api(`/api/executions/${encodeURIComponent(executionId)}`)).finalOutput : event.data.finalOutput;
    showResult(output, null);
  },
  "execution.failed"(event) {
    finished(event, "failed");
    log(event, `Failed: ${event.data.error}`, "error");
    showResult(null, event.data.error);
  },
  "execution.cancelled"(event) {
    finished(event, "cancelled");
    log(event, `Cancelled: ${event.data.reason}`, "warning");
    showResult(null, `Cancelled: ${event.data.reason}`);
  },
};

function finished(event, status) {
  setExecutionStatus(status);
  setCurrentNode(null);
  $("finished").textContent = formatTime(event.timestamp);
}

function apply(event) {
  if (event.data?.progress) setProgress(event.data.progress);
  const handler = HANDLERS[event.type];
  if (handler) handler(event);
  else log(event, event.type);
}

function setBadge(state) {
  $("connection").dataset.state = state;
  $("connection").textContent = BADGE_WORDS[state] ?? state;
}

async function cancel() {
  $("cancel").disabled = true;
  try {
    const answer = await api(`/api/executions/${encodeURIComponent(executionId)}/cancel`, { method: "POST" });
    $("action-message").textContent = answer.message;
  } catch (error) {
    $("action-message").textContent = `Could not cancel: ${error.message}`;
    $("cancel").disabled = TERMINAL.has(execution.status);
  }
}

async function start() {
  try {
    execution = await api(`/api/executions/${encodeURIComponent(executionId)}`);
  } catch (error) {
    $("load-error").hidden = false;
    $("load-error").textContent = error.status === 404 ? `No execution with id ${executionId}.` : error.message;
    setBadge("done");
    return;
  }
  const name = execution.workflowName || execution.workflowId;
  $("title").textContent = name;
  document.title = `${name} · Workflow hub`;
  for (const node of execution.nodes) {
    const state = { ...node, view: nodeView(node) };
    nodes.set(node.nodeId, state);
    $("nodes").append(state.view.item);
    renderNode(state);
  }
  setExecutionStatus(execution.status);
  setProgress(execution.progress);
  setCurrentNode(execution.currentNodeId);
  $("started").textContent = formatTime(execution.startedAt) || "Not yet";
  $("finished").textContent = formatTime(execution.completedAt) || "Not yet";
  $("cancel").addEventListener("click", cancel);
  if (!TERMINAL.has(execution.status)) offerNotifications($("notify"), $("action-message"), executionId);
  watchExecution(location.origin, executionId, {
    token: apiToken(),
    after: 0,
    pollIntervalMs: POLL_INTERVAL_MS,
    onEvent: apply,
    onStatusChange: setBadge,
    onError: (error) => {
      $("load-error").hidden = false;
      $("load-error").textContent = error.message;
    },
  });
}

start();
