// What the user does: sign in and out, open, start and delete
// conversations, page through history, send, edit and delete messages.
// Sends are optimistic: the message shows at once with a client_id, and the
// server's copy (from the 201 or from message.created, whichever comes
// first) replaces it; a retry reuses the client_id, so nothing is sent twice.

import { batch, signal } from "@preact/signals";
import { api, ApiError, onUnauthorized, upload } from "./api";
import { startLive, stopLive } from "./live";
import * as S from "./store";
import type { ChatMessage, Contact, Conversation, Me, Message } from "./types";

/** Why the sign-in page is shown, when not by choice. */
export const signedOutReason = signal("");
/** Bumped to move the keyboard focus to the composer. */
export const composerFocus = signal(0);
let focusAsked = 0;
/** Whether the focus was asked for the composer just now (by Reply, say). */
export const focusJustAsked = () => Date.now() - focusAsked < 1000;

onUnauthorized(() => {
  if (S.session.value !== "signed-in") return;
  stopLive();
  S.clearAll();
  signedOutReason.value = "Your session has ended. Sign in again.";
  S.session.value = "signed-out";
});

export async function boot() {
  try {
    signedIn(await api.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) signedOutReason.value = e.message;
    S.session.value = "signed-out";
  }
}

function signedIn(m: Me) {
  batch(() => {
    S.me.value = m;
    signedOutReason.value = "";
    S.session.value = "signed-in";
  });
  startLive();
  routeFromLocation();
}

export async function signIn(username: string, password: string) {
  const r = await api.login(username, password);
  // GET /me also has my texting numbers, which the login answer leaves out.
  signedIn(await api.me().catch(() => r.user));
}

export async function signOut() {
  stopLive();
  await api.logout().catch(() => {});
  outbox.clear();
  S.clearAll();
  history.replaceState(null, "", "/");
  S.session.value = "signed-out";
}

// ---- loading ----

export function setContacts(list: Contact[]) {
  const p = { ...S.presence.value };
  for (const c of list) p[c.extension] = c.presence;
  batch(() => {
    S.contacts.value = list;
    S.presence.value = p;
  });
}

export async function refreshContacts() {
  setContacts(await api.contacts());
}

/** Reloads who I am (my name or texting numbers may have changed). */
export async function refreshMe() {
  const m = await api.me();
  if (S.session.value === "signed-in") S.me.value = m;
}

/** Loads everything by REST: at the start, and after a resync. */
export async function reloadAll() {
  const [convs, cs] = await Promise.all([api.conversations(), api.contacts()]);
  const open = S.openId.value;
  batch(() => {
    setContacts(cs);
    S.setConversations(convs);
    S.forgetThreads(open);
  });
  if (open) await reloadThread(open);
}

export async function fetchConversation(id: string): Promise<Conversation | null> {
  try {
    const c = await api.conversation(id);
    S.putConversation(c, false);
    return c;
  } catch {
    return null;
  }
}

export async function loadThread(id: string) {
  const t = S.thread(id);
  if (t.loaded.value || t.loading.value) return;
  t.loading.value = true;
  t.error.value = "";
  try {
    const page = await api.messages(id, { limit: S.PAGE });
    batch(() => {
      t.messages.value = S.mergeMessages(t.messages.value, page);
      t.hasOlder.value = page.length === S.PAGE && page[0]!.seq > 1;
      t.loaded.value = true;
    });
  } catch (e) {
    t.error.value = e instanceof ApiError ? e.message : "Could not load the messages.";
  } finally {
    t.loading.value = false;
  }
}

/** Reloads the newest page of a history, keeping the messages being sent. */
async function reloadThread(id: string) {
  const t = S.thread(id);
  const page = await api.messages(id, { limit: S.PAGE });
  batch(() => {
    t.messages.value = S.mergeMessages(
      t.messages.value.filter((m) => m.local),
      page,
    );
    t.hasOlder.value = page.length === S.PAGE && page[0]!.seq > 1;
    t.loaded.value = true;
  });
}

/** Loads the page before the oldest message shown. */
export async function loadOlder(id: string) {
  const t = S.thread(id);
  if (!t.loaded.value || t.loading.value || !t.hasOlder.value) return;
  t.loading.value = true;
  try {
    const before = S.minSeq(t.messages.value);
    const page = await api.messages(id, { before, limit: S.PAGE });
    batch(() => {
      t.messages.value = S.mergeMessages(t.messages.value, page);
      t.hasOlder.value = page.length === S.PAGE && page[0]!.seq > 1;
    });
  } catch {
    // The next scroll tries again.
  } finally {
    t.loading.value = false;
  }
}

/** Fills a gap in a loaded history after seq (should the stream ever skip). */
export async function catchUp(id: string, after: number) {
  const t = S.loadedThread(id);
  if (!t) return;
  for (;;) {
    const page = await api.messages(id, { after, limit: 200 }).catch(() => [] as Message[]);
    t.messages.value = S.mergeMessages(t.messages.value, page);
    if (page.length < 200) return;
    after = page[page.length - 1]!.seq;
  }
}

// ---- navigation ----

function pathOf(id: string | null) {
  return id ? "/chat/" + encodeURIComponent(id) : "/";
}

export function routeFromLocation() {
  const m = location.pathname.match(/^\/chat\/([^/]+)\/?$/);
  const id = m ? decodeURIComponent(m[1]!) : null;
  if (id) void openConversation(id, { push: false });
  else S.openId.value = null;
}
window.addEventListener("popstate", () => {
  if (S.session.value === "signed-in") routeFromLocation();
});

/** Shows a conversation in the chat pane (and highlights it in the list). */
export async function openConversation(id: string, opts: { push?: boolean; focus?: boolean } = {}) {
  if (S.openId.value !== id) {
    S.openId.value = id;
    if (opts.push !== false && location.pathname !== pathOf(id)) history.pushState(null, "", pathOf(id));
  }
  if (opts.focus) {
    focusAsked = Date.now();
    composerFocus.value++;
  }
  await loadThread(id);
}

export function closeConversation() {
  S.openId.value = null;
  if (location.pathname !== "/") history.pushState(null, "", "/");
}

export async function startConversation(members: string[], name?: string) {
  const c = await api.createConversation(members, name);
  S.putConversation(c, false);
  await openConversation(c.id, { focus: true });
  return c;
}

/** Opens my 1:1 conversation with ext, starting it if needed. */
export async function chatWith(ext: string) {
  const existing = S.conversations.value.find((c) => c.direct && S.peerOf(c) === ext);
  if (existing) return openConversation(existing.id, { focus: true });
  await startConversation([ext]);
}

export async function deleteConversation(id: string) {
  await api.deleteConversation(id);
  if (S.openId.value === id) closeConversation();
  S.removeConversation(id);
}

/** Marks an open, visible conversation read up to its last message. */
export function markRead(id: string) {
  const c = S.findConversation(id);
  if (!c || (c.unread === 0 && c.last_read_seq >= c.last_seq)) return;
  const seq = c.last_seq;
  const mine = S.myExt();
  S.patchConversation(id, (c) => ({
    ...c,
    unread: 0,
    last_read_seq: Math.max(c.last_read_seq, seq),
    read: { ...c.read, [mine]: Math.max(c.read[mine] ?? 0, seq) },
  }));
  api.markRead(id, seq).catch(() => {});
}

// ---- sending ----

interface Outgoing {
  convId: string;
  clientId: string;
  body: string;
  files: File[];
  attachmentIds: string[] | null;
  busy: boolean;
  failed: boolean;
}

const outbox = new Map<string, Outgoing>();

function updateLocal(convId: string, clientId: string, fn: (m: ChatMessage) => ChatMessage) {
  const t = S.thread(convId);
  t.messages.value = t.messages.value.map((m) => (m.local && m.client_id === clientId ? fn(m) : m));
}

/** Sends a message with files: shown at once, uploaded with progress, then posted. */
export function send(convId: string, body: string, files: File[]) {
  const clientId = crypto.randomUUID();
  const local: ChatMessage = {
    id: "local-" + clientId,
    conversation_id: convId,
    seq: 0,
    client_id: clientId,
    sender: S.myExt(),
    body,
    attachments: [],
    kind: "text",
    created_at: new Date().toISOString(),
    edited_at: null,
    deleted: false,
    local: {
      state: "sending",
      uploads: files.map((f) => ({
        name: f.name,
        size: f.size,
        type: f.type,
        preview: /^image\/(png|jpeg|gif|webp)$/.test(f.type) ? URL.createObjectURL(f) : undefined,
        progress: 0,
      })),
    },
  };
  const t = S.thread(convId);
  t.messages.value = [...t.messages.value, local];
  S.patchConversation(convId, (c) => ({ ...c, last_message: local, updated_at: local.created_at }));
  const o: Outgoing = { convId, clientId, body, files, attachmentIds: files.length ? null : [], busy: false, failed: false };
  outbox.set(clientId, o);
  void deliver(o);
}

async function deliver(o: Outgoing) {
  if (o.busy) return;
  o.busy = true;
  o.failed = false;
  updateLocal(o.convId, o.clientId, (m) => ({ ...m, local: { ...m.local!, state: "sending", error: "" } }));
  try {
    if (!o.attachmentIds) {
      const ids: string[] = [];
      for (const [i, f] of o.files.entries()) {
        const a = await upload(f, (p) =>
          updateLocal(o.convId, o.clientId, (m) => {
            const uploads = m.local!.uploads.slice();
            uploads[i] = { ...uploads[i]!, progress: p };
            return { ...m, local: { ...m.local!, uploads } };
          }),
        );
        ids.push(a.id);
      }
      o.attachmentIds = ids;
    }
    const m = await api.send(o.convId, { client_id: o.clientId, body: o.body, attachments: o.attachmentIds });
    outbox.delete(o.clientId);
    S.applyMessage(m);
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(0, "network", "Not sent.");
    if (!err.transient) {
      o.failed = true;
      updateLocal(o.convId, o.clientId, (m) => ({ ...m, local: { ...m.local!, state: "failed", error: err.message } }));
    }
    // A transient failure stays "sending": the live connection retries it
    // when it is back (retryOutbox).
  } finally {
    o.busy = false;
  }
}

/** Sends again every message still waiting; called when the connection is back. */
export function retryOutbox() {
  for (const o of outbox.values()) if (!o.failed) void deliver(o);
}

export function retrySend(clientId: string) {
  const o = outbox.get(clientId);
  if (o) void deliver(o);
}

export function discardSend(convId: string, clientId: string) {
  outbox.delete(clientId);
  const t = S.thread(convId);
  t.messages.value = t.messages.value.filter((m) => !(m.local && m.client_id === clientId));
}

export async function editMessage(m: Message, body: string) {
  S.applyMessage(await api.edit(m.conversation_id, m.id, body));
}

export async function deleteMessage(m: Message) {
  await api.deleteMessage(m.conversation_id, m.id);
  S.applyMessage({ ...m, deleted: true, body: "", attachments: [], edited_at: new Date().toISOString() });
}
