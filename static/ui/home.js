// /ui: the Run form and the list of recent executions.

import { api, element, formatTime, setStatus } from "/static/ui/common.js";
import { offerNotifications } from "/static/ui/notify.js";

const REFRESH_MS = 3000;

const form = document.getElementById("run-form");
const exampleSelect = document.getElementById("example");
const description = document.getElementById("example-description");
const workflowField = document.getElementById("workflow");
const inputsField = document.getElementById("inputs");
const problems = document.getElementById("run-problems");
const runButton = document.getElementById("run");
const executionsBody = document.getElementById("executions");
const recentState = document.getElementById("recent-state");

let examples = [];

async function loadExamples() {
  try {
    examples = (await api("/api/examples")).examples;
  } catch (error) {
    description.textContent = `Examples could not be loaded: ${error.message}`;
    return;
  }
  for (const example of examples) {
    exampleSelect.append(element("option", { value: example.id, textContent: example.name }));
  }
}

function chooseExample() {
  const example = examples.find((candidate) => candidate.id === exampleSelect.value);
  description.textContent = example?.description ?? "";
  if (example) {
    workflowField.value = JSON.stringify(example.workflow, null, 2);
    inputsField.value = JSON.stringify(example.inputs ?? {}, null, 2);
  }
}

function parseField(field, name) {
  const text = field.value.trim();
  if (!text) return { problem: `${name} is empty` };
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { problem: `${name} must be a JSON object` };
    }
    return { value };
  } catch (error) {
    return { problem: `${name} is not valid JSON: ${error.message}` };
  }
}

function showProblems(title, list) {
  problems.replaceChildren(
    element("p", { textContent: title }),
    ...(list.length ? [element("ul", {}, ...list.map((item) => element("li", { textContent: item })))] : []),
  );
}

async function run(event) {
  event.preventDefault();
  problems.replaceChildren();
  const workflow = parseField(workflowField, "Workflow JSON");
  const inputs = parseField(inputsField, "Inputs");
  const found = [workflow.problem, inputs.problem].filter(Boolean);
  workflowField.setAttribute("aria-invalid", String(Boolean(workflow.problem)));
  inputsField.setAttribute("aria-invalid", String(Boolean(inputs.problem)));
  if (found.length) {
    showProblems("The run was not started:", found);
    return;
  }
  runButton.disabled = true;
  try {
    const body = { workflowId: workflow.value.id || "workflow", workflow: workflow.value, inputs: inputs.value };
    const accepted = await api("/api/workflows/execute", { method: "POST", body });
    location.assign(`/ui/executions/${encodeURIComponent(accepted.executionId)}`);
  } catch (error) {
    const list = (error.problems ?? []).map((problem) => `${problem.path}: ${problem.message}`);
    showProblems(error.message, list);
    runButton.disabled = false;
  }
}

function executionRow(execution) {
  const status = element("span");
  setStatus(status, execution.status);
  const link = element("a", {
    href: `/ui/executions/${encodeURIComponent(execution.executionId)}`,
    textContent: execution.workflowName || execution.workflowId,
  });
  return element(
    "tr",
    { dataset: { executionId: execution.executionId } },
    element("td", { dataset: { label: "Workflow" } }, link),
    element("td", { dataset: { label: "Status" } }, status),
    element("td", { className: "number", dataset: { label: "Progress" }, textContent: `${execution.progress.percentage} %` }),
    element("td", { dataset: { label: "Started" }, textContent: formatTime(execution.startedAt || execution.createdAt) }),
  );
}

async function refreshExecutions() {
  try {
    const { executions } = await api("/api/executions?limit=20");
    executionsBody.replaceChildren(...executions.map(executionRow));
    recentState.textContent = executions.length ? "" : "No executions yet: run one above.";
  } catch (error) {
    recentState.textContent = `Could not load executions: ${error.message}`;
  }
  setTimeout(refreshExecutions, REFRESH_MS);
}

exampleSelect.addEventListener("change", chooseExample);
form.addEventListener("submit", run);
loadExamples();
refreshExecutions();
offerNotifications(document.getElementById("notify-all"), document.getElementById("notify-message"), null);
