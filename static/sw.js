// The viewer's service worker: shows "<workflow> completed" (or failed, cancelled) when the hub pushes the
// end of a run, and opens the viewer at that execution when the notification is clicked.

self.addEventListener("push", (event) => {
  const run = event.data ? event.data.json() : {};
  const workflow = run.workflowName || run.workflowId || "Workflow";
  const title = `${workflow} ${run.status ?? "finished"}`;
  const body = run.error ? run.error : `Execution ${run.executionId ?? ""}`.trim();
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: run.executionId,
      data: { url: run.url ?? (run.executionId ? `/ui/executions/${encodeURIComponent(run.executionId)}` : "/ui") },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url ?? "/ui", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => client.url === url);
      if (open) return open.focus();
      return self.clients.openWindow(url);
    })(),
  );
});
