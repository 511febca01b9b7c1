// Telling the user about new messages: the unread count in the page title,
// an announcement for screen readers, and, while the tab is in the
// background, a desktop notification and a soft sound (each can be turned
// off in the profile menu).

import { effect, signal } from "@preact/signals";
import * as S from "./store";
import type { Message } from "./types";

/** The text of the polite live region (screen readers read it out). */
export const announcement = signal("");

export function announce(text: string) {
  announcement.value = "";
  setTimeout(() => (announcement.value = text), 50);
}

effect(() => {
  const n = S.totalUnread.value;
  const signedIn = S.session.value === "signed-in";
  document.title = signedIn && n > 0 ? `(${n}) Switchboard` : signedIn ? "Switchboard" : "Sign in · Switchboard";
});

export function preview(m: Message): string {
  if (m.deleted) return "Message deleted";
  if (m.body) return m.body.replace(/\s+/g, " ").trim();
  const n = m.attachments.length;
  if (n === 0) return "";
  const pics = m.attachments.every((a) => a.content_type.startsWith("image/"));
  if (n === 1) return pics ? "Picture" : m.attachments[0]!.name;
  return pics ? `${n} pictures` : `${n} files`;
}

/** Reacts to a new message in one of my conversations. */
export function incoming(m: Message) {
  if (m.sender === S.myExt() || m.kind !== "text") return;
  const c = S.findConversation(m.conversation_id);
  const who = S.nameOf(m.sender);
  const where = c && !S.peerOf(c) ? ` in ${S.titleOf(c)}` : "";
  announce(`New message from ${who}${where}: ${preview(m)}`);
  const background = document.visibilityState !== "visible" || !document.hasFocus();
  if (!background) return;
  const p = S.prefs.value;
  if (p.sound) chime();
  if (p.notifications && notificationsAllowed()) {
    try {
      const n = new Notification(c && !S.peerOf(c) ? `${who} · ${S.titleOf(c)}` : who, {
        body: preview(m),
        tag: m.conversation_id,
      });
      n.onclick = () => {
        window.focus();
        n.close();
        void import("./actions").then((a) => a.openConversation(m.conversation_id, { focus: true }));
      };
    } catch {
      // Some browsers only notify from a service worker; the title still counts.
    }
  }
}

export const notificationsSupported = () => typeof Notification !== "undefined";
export const notificationsAllowed = () => notificationsSupported() && Notification.permission === "granted";

/** The browser's permission, as a signal (it changes when the user answers). */
export const permission = signal<NotificationPermission | "unsupported">(
  notificationsSupported() ? Notification.permission : "unsupported",
);

export async function askPermission(): Promise<boolean> {
  if (!notificationsSupported()) return false;
  const r = await Notification.requestPermission();
  permission.value = r;
  return r === "granted";
}

// ---- a soft two-note chime, synthesised (no sound file to fetch) ----

let audio: AudioContext | null = null;

function unlock() {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") void audio.resume();
  } catch {
    audio = null;
  }
  window.removeEventListener("pointerdown", unlock);
  window.removeEventListener("keydown", unlock);
}
// Browsers start audio only after a gesture in the page.
window.addEventListener("pointerdown", unlock);
window.addEventListener("keydown", unlock);

export function chime() {
  const ctx = audio;
  if (!ctx || ctx.state !== "running") return;
  const t = ctx.currentTime;
  for (const [freq, at] of [
    [784, 0],
    [1175, 0.13],
  ] as const) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + at);
    gain.gain.exponentialRampToValueAtTime(0.07, t + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.6);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + at);
    osc.stop(t + at + 0.65);
  }
}
