// Web Push: a button that asks the browser for a push subscription and gives it to the hub.

import { api } from "/static/ui/common.js";

function applicationServerKey(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (character) => character.charCodeAt(0));
}

async function publicKey() {
  try {
    return (await api("/api/push/vapid-public-key")).publicKey;
  } catch {
    return null;
  }
}

/**
 * Shows `button` when this browser and the hub can do push; a click subscribes to the end of
 * `executionId`, or of every execution when it is null. `message` tells the person what happened.
 */
export async function offerNotifications(button, message, executionId) {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const key = await publicKey();
  if (!key) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") throw new Error("notifications are blocked for this site");
      const registration = await navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" });
      await navigator.serviceWorker.ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ??
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey(key) }));
      await api("/api/push/subscriptions", {
        method: "POST",
        body: { subscription: subscription.toJSON(), ...(executionId ? { executionId } : {}) },
      });
      message.textContent = executionId ? "You will be notified when this run ends." : "You will be notified when runs end.";
    } catch (error) {
      message.textContent = `Notifications could not be turned on: ${error.message}`;
      button.disabled = false;
    }
  });
}
