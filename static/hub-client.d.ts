// Types for hub-client.js (an ES module with no build step).

export type ExecutionStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "cancelled";

/** How events currently arrive: over the socket, by polling, reconnecting after a drop, or finished. */
export type ConnectionStatus = "live" | "reconnecting" | "polling" | "done";

/** Which path delivered an event. */
export type EventSource = "socket" | "poll";

export interface ExecutionEvent {
  seq: number;
  type: string;
  executionId: string;
  nodeId?: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface Progress {
  totalNodes: number;
  completedNodes: number;
  failedNodes: number;
  skippedNodes: number;
  percentage: number;
}

export interface NodeState {
  nodeId: string;
  nodeType: string;
  label: string;
  status: string;
  duration: number | null;
  attempts: number;
  error: string | null;
}

/** The `GET /api/executions/{id}` body. */
export interface Execution {
  executionId: string;
  workflowId: string;
  workflowName: string | null;
  organizationId: string | null;
  status: ExecutionStatus;
  currentNodeId: string | null;
  progress: Progress;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  finalOutput: unknown;
  error: string | null;
  retryOf: string | null;
  lastSeq: number;
  engine: string;
  nodes: NodeState[];
  logs: Record<string, unknown>[];
}

export interface WatchOptions {
  /** Sent as `Authorization: Bearer` on REST calls and as `?token=` on the socket. */
  token?: string;
  onEvent?: (event: ExecutionEvent, source: EventSource) => void;
  /** The execution as it stood when watching began (not called when `after` is given). */
  onSnapshot?: (execution: Execution) => void;
  onStatusChange?: (status: ConnectionStatus) => void;
  /** Called once when the hub refuses the watch (unknown execution, bad token). */
  onError?: (error: HubError) => void;
  /** How often to poll while the socket is down. Default 5000. */
  pollIntervalMs?: number;
  /** Start after this seq and deliver every later event (0: every event) instead of a snapshot. */
  after?: number;
  /** Socket attempts that fail in a row before polling starts. Default 3. */
  maxSocketFailures?: number;
  /** First reconnect delay; it doubles per failure, with jitter, up to maxBackoffMs. Defaults 500 and 30000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A socket that stays open this long (or delivers a message) counts as working. Default 3000. */
  stableMs?: number;
  /** A WebSocket class; the global one by default. `null` means sockets are unavailable: poll only. */
  WebSocket?: typeof WebSocket | null;
  fetch?: typeof fetch;
}

export interface ExecutionWatch {
  /** Stops watching; nothing is delivered afterwards. */
  close(): void;
  /** The terminal event (or terminal snapshot); null after close(); rejects with HubError when refused. */
  readonly finished: Promise<ExecutionEvent | Execution | null>;
}

export interface RunAccepted {
  executionId: string;
  workflowId: string;
  status: "pending";
  message: string;
  backgroundExecution: true;
  statusUrl: string;
  eventsUrl: string;
  websocketUrl: string;
}

export interface RunBody {
  workflowId?: string;
  workflow?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  organizationId?: string;
  maxDurationSeconds?: number;
  callbackUrl?: string;
}

export class HubError extends Error {
  readonly status: number;
  readonly problems: { path: string; message: string }[];
}

export function watchExecution(baseUrl: string, executionId: string, options?: WatchOptions): ExecutionWatch;

/** Any REST call to the hub: the JSON answer, or a HubError with the hub's message and problems. */
export function request<T = unknown>(
  baseUrl: string,
  path: string,
  options?: { method?: string; body?: unknown; token?: string; fetch?: typeof fetch },
): Promise<T>;

export function runWorkflow(
  baseUrl: string,
  body: RunBody,
  options?: { token?: string; fetch?: typeof fetch },
): Promise<RunAccepted>;
