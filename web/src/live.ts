// The live connection: one WebSocket to /api/v1/events per tab.
//
// The cursor of every handled frame is remembered; a reconnection asks for
// ?since=CURSOR, so the server replays exactly what was missed (the merge
// functions of the store make a replayed event harmless). A fresh
// connection, and a resync, reload my state by REST while the live frames
// that arrive meanwhile wait in a buffer, to be applied after the reload.
// Reconnection backs off exponentially with jitter; before each retry a
// cheap GET /api/v1/me tells a server that is down from a session that ended.

import { api, ApiError } from "./api";
import { catchUp, fetchConversation, refreshContacts, refreshMe, reloadAll, retryOutbox } from "./actions";
import { incoming } from "./notify";
import * as S from "./store";
import type { Conversation, Frame, Message, Presence } from "./types";

let ws: WebSocket | null = null;
let cursor = "";
let attempt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let buffer: Frame[] | null = null;
let generation = 0;

export function startLive() {
  running = true;
  cursor = "";
  attempt = 0;
  void connect();
  // Should the WebSocket be blocked on the way, still show my conversations.
  setTimeout(() => {
    if (running && !S.conversationsLoaded.value) reloadAll().catch(() => {});
  }, 5000);
}

export function stopLive() {
  running = false;
  clearTimeout(timer);
  cursor = "";
  buffer = null;
  generation++;
  const sock = ws;
  ws = null;
  sock?.close(1000);
  S.connection.value = "connecting";
}

async function connect() {
  clearTimeout(timer);
  if (!running || ws) return;
  if (!navigator.onLine) {
    // No network: wait for the browser's "online" event (the timer is a
    // fallback for browsers that do not send it).
    S.connection.value = "offline";
    schedule();
    return;
  }
  if (attempt > 0) {
    try {
      await api.me();
    } catch (e) {
      // 401: the session is over and the app has signed out already.
      if (!(e instanceof ApiError && e.status === 401)) schedule();
      return;
    }
    if (!running || ws) return;
  }
  const url = new URL("/api/v1/events", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (cursor) url.searchParams.set("since", cursor);
  const sock = new WebSocket(url);
  ws = sock;
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    let f: Frame;
    try {
      f = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    handle(f);
  };
  sock.onclose = () => {
    if (ws === sock) lost();
  };
}

/** The live connection is gone: say so and try again later. */
function lost() {
  ws = null;
  if (buffer) {
    // Closed while reloading: the buffered frames are lost, so the next
    // connection starts afresh rather than resuming.
    buffer = null;
    cursor = "";
    generation++;
  }
  if (!running) return;
  S.connection.value = "offline";
  schedule();
}

function schedule() {
  clearTimeout(timer);
  const ceiling = Math.min(30_000, 500 * 2 ** attempt);
  attempt++;
  timer = setTimeout(() => void connect(), ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Tries at once (the network is back, the tab is visible again). */
function reconnectNow() {
  if (!running || ws) return;
  attempt = Math.min(attempt, 1);
  void connect();
}

window.addEventListener("online", reconnectNow);
// Without a network the closing handshake cannot finish, and the socket's
// close event may come only much later: let go of it at once.
window.addEventListener("offline", () => {
  const sock = ws;
  if (!sock) return;
  lost();
  sock.close();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reconnectNow();
});

function handle(f: Frame) {
  if (f.type === "ready") {
    attempt = 0;
    S.connection.value = "online";
    const list = (f.data as { presence?: Presence[] })?.presence ?? [];
    S.presence.value = Object.fromEntries(list.map((p) => [p.extension, p]));
    const resumed = cursor !== "";
    if (f.cursor) cursor = f.cursor;
    if (resumed) {
      // The replay brings what was missed; contacts may have changed too.
      refreshContacts().catch(() => {});
      refreshMe().catch(() => {});
      retryOutbox();
    } else {
      reload();
    }
    return;
  }
  if (f.type === "resync") {
    if (f.cursor) cursor = f.cursor;
    reload();
    return;
  }
  if (buffer) {
    buffer.push(f);
    return;
  }
  apply(f);
}

function reload() {
  const gen = ++generation;
  buffer = [];
  reloadAll().then(
    () => {
      if (gen !== generation) return;
      const frames = buffer ?? [];
      buffer = null;
      for (const f of frames) apply(f);
      retryOutbox();
    },
    () => {
      if (gen !== generation) return;
      // Could not load: start again from scratch.
      buffer = null;
      cursor = "";
      ws?.close();
    },
  );
}

function apply(f: Frame) {
  const mine = S.myExt();
  switch (f.type) {
    case "message.created": {
      const m = f.data as Message;
      const t = S.loadedThread(m.conversation_id);
      const before = t ? S.maxSeq(t.messages.value) : 0;
      const r = S.applyMessage(m);
      if (r === "unknown") {
        // A conversation I deleted came back, or I was added to a group.
        void fetchConversation(m.conversation_id).then((c) => c && incoming(m));
      } else if (r) {
        incoming(m);
        if (t && before > 0 && m.seq > before + 1) void catchUp(m.conversation_id, before);
      }
      break;
    }
    case "message.updated":
      S.applyMessage(f.data as Message);
      break;
    case "conversation.updated":
      S.putConversation(f.data as Conversation, true);
      break;
    case "conversation.deleted": {
      const id = (f.data as { id: string }).id;
      if (S.openId.value === id && location.pathname !== "/") history.replaceState(null, "", "/");
      S.removeConversation(id);
      break;
    }
    case "presence.changed": {
      const p = f.data as Presence;
      S.presence.value = { ...S.presence.value, [p.extension]: p };
      if (p.extension !== mine && !S.contactMap.value.has(p.extension)) refreshContacts().catch(() => {});
      break;
    }
    case "typing": {
      const d = f.data as { conversation_id: string; extension: string };
      if (d.extension !== mine) S.startTyping(d.conversation_id, d.extension);
      break;
    }
  }
  if (f.cursor) cursor = f.cursor;
}

const lastTyping = new Map<string, number>();

/** Tells the others that I am typing; at most every 3 s per conversation. */
export function sendTyping(convId: string) {
  const t = Date.now();
  if ((lastTyping.get(convId) ?? 0) > t - 3000 || ws?.readyState !== WebSocket.OPEN) return;
  lastTyping.set(convId, t);
  ws.send(JSON.stringify({ type: "typing", data: { conversation_id: convId } }));
}
