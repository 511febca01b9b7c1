// The portal's state, in signals: who I am, my contacts and their presence,
// my conversations and the history of the ones I opened. Every change from
// REST answers and live events goes through the merge functions here, which
// are idempotent: applying the same message or conversation twice, in any
// order with its REST copy, leaves one copy.

import { batch, computed, signal, type Signal } from "@preact/signals";
import type { ChatMessage, Contact, Conversation, Me, Message, Presence } from "./types";

export const me = signal<Me | null>(null);
export const session = signal<"loading" | "signed-out" | "signed-in">("loading");
export const contacts = signal<Contact[]>([]);
export const presence = signal<Record<string, Presence>>({});
export const conversations = signal<Conversation[]>([]);
export const conversationsLoaded = signal(false);
/** The conversation shown in the chat pane (also the highlighted one in the list). */
export const openId = signal<string | null>(null);
/** Conversation id → extension → when its typing indicator expires (ms). */
export const typing = signal<Record<string, Record<string, number>>>({});
/** The live connection: "offline" while it is down and being retried. */
export const connection = signal<"connecting" | "online" | "offline">("connecting");
/** The tab is visible (not in the background). */
export const visible = signal(document.visibilityState === "visible");
document.addEventListener("visibilitychange", () => (visible.value = document.visibilityState === "visible"));

export const myExt = () => me.value?.extension ?? "";

export const contactMap = computed(() => new Map(contacts.value.map((c) => [c.extension, c])));

export function nameOf(ext: string): string {
  if (ext === myExt()) return me.value?.name ?? ext;
  return contactMap.value.get(ext)?.name || (/^\+/.test(ext) ? formatPhone(ext) : `Ext. ${ext}`);
}

/** Whether a contact matches a search as the server's ?q= does: the extension, or a word of the name, starts with it. */
export function matchesContact(c: Contact, q: string): boolean {
  if (!q) return true;
  const lq = q.toLowerCase();
  return c.extension.startsWith(lq) || c.name.toLowerCase().split(/[\s\-.'’]+/).some((w) => w.startsWith(lq));
}

export function presenceOf(ext: string): Presence {
  return presence.value[ext] ?? { extension: ext, color: "gray", dnd: false, message: "" };
}

export const presenceLabels: Record<Presence["color"], string> = {
  blue: "Available to chat",
  green: "Available for calls",
  red: "Busy",
  gray: "Offline",
};

export function presenceText(p: Presence): string {
  const base = p.dnd ? "Do not disturb" : presenceLabels[p.color];
  return p.message ? `${base} · ${p.message}` : base;
}

/** The other members of a conversation. */
export function others(c: Conversation): string[] {
  const mine = myExt();
  return c.members.filter((m) => m !== mine);
}

/** An E.164 number for people: "+1 415-555-0199" for North America, else as is. */
export function formatPhone(e164: string): string {
  const m = e164.match(/^\+1(\d{3})(\d{3})(\d{4})$/);
  return m ? `+1 ${m[1]}-${m[2]}-${m[3]}` : e164;
}

/** What a conversation is called: the group's name, or its other members. */
export function titleOf(c: Conversation): string {
  if (c.name) return c.name;
  if (c.kind === "sms") return (c.external ?? []).map(formatPhone).join(", ") || "Text message";
  const o = others(c);
  if (o.length === 0) return "Just you";
  if (o.length === 1) return nameOf(o[0]!);
  const names = o.map((e) => nameOf(e).split(/\s+/)[0]!);
  return names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
}

/** The other member of a 1:1 conversation, or null for a group. */
export function peerOf(c: Conversation): string | null {
  if (c.kind === "sms") return null;
  const o = others(c);
  return !c.name && o.length === 1 ? o[0]! : null;
}

export const totalUnread = computed(() => conversations.value.reduce((n, c) => n + c.unread, 0));

export const openConversation = computed(() => conversations.value.find((c) => c.id === openId.value) ?? null);

// ---- conversations ----

const time = (iso: string) => Date.parse(iso) || 0;

function sorted(list: Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => time(b.updated_at) - time(a.updated_at) || (a.id < b.id ? -1 : 1));
}

export function findConversation(id: string): Conversation | undefined {
  return conversations.value.find((c) => c.id === id);
}

/** Replaces my list with a REST answer, keeping local previews of messages being sent. */
export function setConversations(list: Conversation[]) {
  batch(() => {
    conversations.value = sorted(list);
    conversationsLoaded.value = true;
  });
}

/** Applies a conversation from REST (mine: every field) or from an event (per-member fields zero: keep mine). */
export function putConversation(c: Conversation, fromEvent: boolean) {
  const list = conversations.value;
  const i = list.findIndex((x) => x.id === c.id);
  if (i < 0) {
    // An event about a conversation I do not list: a new one with no
    // messages yet joins the list; others (one I deleted, whose read markers
    // moved) stay away until a message brings them back.
    if (fromEvent && c.last_seq > 0) return;
    const mine = myExt();
    const add = fromEvent ? { ...c, last_message: null, unread: 0, last_read_seq: c.read[mine] ?? 0 } : c;
    conversations.value = sorted([...list, add]);
    return;
  }
  const old = list[i]!;
  const merged: Conversation = fromEvent
    ? {
        ...c,
        last_message: old.last_message,
        unread: old.unread,
        last_read_seq: old.last_read_seq,
        last_seq: Math.max(old.last_seq, c.last_seq),
        updated_at: time(old.updated_at) > time(c.updated_at) ? old.updated_at : c.updated_at,
      }
    : c;
  const next = list.slice();
  next[i] = merged;
  conversations.value = sorted(next);
}

export function patchConversation(id: string, patch: (c: Conversation) => Conversation) {
  const list = conversations.value;
  const i = list.findIndex((x) => x.id === id);
  if (i < 0) return;
  const next = list.slice();
  next[i] = patch(list[i]!);
  conversations.value = sorted(next);
}

export function removeConversation(id: string) {
  batch(() => {
    conversations.value = conversations.value.filter((c) => c.id !== id);
    threads.delete(id);
    if (openId.value === id) openId.value = null;
  });
}

// ---- messages ----

export const PAGE = 50;

/** The loaded history of one conversation. */
export interface Thread {
  messages: Signal<ChatMessage[]>;
  hasOlder: Signal<boolean>;
  loading: Signal<boolean>;
  loaded: Signal<boolean>;
  error: Signal<string>;
}

const threads = new Map<string, Thread>();

export function thread(id: string): Thread {
  let t = threads.get(id);
  if (!t) {
    t = { messages: signal([]), hasOlder: signal(false), loading: signal(false), loaded: signal(false), error: signal("") };
    threads.set(id, t);
  }
  return t;
}

export function loadedThread(id: string): Thread | undefined {
  const t = threads.get(id);
  return t?.loaded.value ? t : undefined;
}

/** Forgets every loaded history but the open one's (after a resync). */
export function forgetThreads(keep: string | null) {
  for (const id of [...threads.keys()]) if (id !== keep) threads.delete(id);
}

export function clearAll() {
  batch(() => {
    me.value = null;
    contacts.value = [];
    presence.value = {};
    conversations.value = [];
    conversationsLoaded.value = false;
    openId.value = null;
    typing.value = {};
    threads.clear();
  });
}

/** Whether b is a later state of the same message than a. */
function newer(a: Message, b: Message): boolean {
  if (a.deleted !== b.deleted) return b.deleted;
  return time(b.edited_at ?? "") >= time(a.edited_at ?? "");
}

/** Merges server messages into a history: by id, replacing the local copy with the same client_id. */
export function mergeMessages(list: ChatMessage[], incoming: Message[]): ChatMessage[] {
  let out = list;
  for (const m of incoming) {
    const i = out.findIndex((x) => x.id === m.id);
    if (i >= 0) {
      if (!newer(out[i]!, m)) continue;
      out = out.slice();
      out[i] = m;
      continue;
    }
    out = out.slice();
    const j = m.client_id ? out.findIndex((x) => x.local && x.client_id === m.client_id && x.sender === m.sender) : -1;
    if (j >= 0) {
      const [local] = out.splice(j, 1);
      for (const u of local!.local!.uploads) if (u.preview) setTimeout(() => URL.revokeObjectURL(u.preview!), 60_000);
    }
    let k = out.length;
    while (k > 0 && (out[k - 1]!.local || out[k - 1]!.seq > m.seq)) k--;
    out.splice(k, 0, m);
  }
  return out;
}

/** The highest seq of the server messages in a history. */
export function maxSeq(list: ChatMessage[]): number {
  let s = 0;
  for (const m of list) if (!m.local && m.seq > s) s = m.seq;
  return s;
}

export function minSeq(list: ChatMessage[]): number {
  for (const m of list) if (!m.local) return m.seq;
  return 0;
}

/**
 * Applies a message (new or changed) to its conversation and loaded history.
 * Reports whether it is new to me (a seq beyond what I knew), or "unknown"
 * when its conversation is not in my list.
 */
export function applyMessage(m: Message): boolean | "unknown" {
  const c = findConversation(m.conversation_id);
  const t = loadedThread(m.conversation_id);
  if (t) t.messages.value = mergeMessages(t.messages.value, [m]);
  if (!c) return "unknown";
  const isNew = m.seq > c.last_seq;
  const mine = m.sender === myExt();
  patchConversation(c.id, (c) => {
    const next = { ...c };
    const last = c.last_message;
    if (!last || last.id === m.id || m.seq > last.seq || (last.seq === 0 && isNew)) next.last_message = m;
    if (isNew) {
      next.last_seq = m.seq;
      if (time(m.created_at) > time(c.updated_at)) next.updated_at = m.created_at;
      if (mine) {
        next.last_read_seq = Math.max(c.last_read_seq, m.seq);
        next.unread = 0;
        next.read = { ...c.read, [m.sender]: Math.max(c.read[m.sender] ?? 0, m.seq) };
      } else if (m.kind === "text") {
        next.unread = c.unread + 1;
      }
    }
    return next;
  });
  if (isNew && !mine) stopTyping(m.conversation_id, m.sender);
  return isNew;
}

// ---- typing ----

export function startTyping(convId: string, ext: string) {
  const cur = typing.value[convId] ?? {};
  typing.value = { ...typing.value, [convId]: { ...cur, [ext]: Date.now() + 6000 } };
}

export function stopTyping(convId: string, ext: string) {
  const cur = typing.value[convId];
  if (!cur || !(ext in cur)) return;
  const { [ext]: _, ...rest } = cur;
  typing.value = { ...typing.value, [convId]: rest };
}

setInterval(() => {
  const t = Date.now();
  let changed = false;
  const next: Record<string, Record<string, number>> = {};
  for (const [conv, who] of Object.entries(typing.value)) {
    const keep: Record<string, number> = {};
    for (const [ext, until] of Object.entries(who)) {
      if (until > t) keep[ext] = until;
      else changed = true;
    }
    next[conv] = keep;
  }
  if (changed) typing.value = next;
}, 1000);

// ---- preferences (the only thing kept in localStorage) ----

export interface Prefs {
  notifications: boolean;
  sound: boolean;
  dockOpen: boolean;
  notifyHintDismissed: boolean;
}

const PREFS_KEY = "switchboard.prefs";

function loadPrefs(): Prefs {
  const def: Prefs = { notifications: true, sound: true, dockOpen: false, notifyHintDismissed: false };
  try {
    return { ...def, ...JSON.parse(localStorage.getItem(PREFS_KEY) ?? "{}") };
  } catch {
    return def;
  }
}

export const prefs = signal<Prefs>(loadPrefs());

export function setPref<K extends keyof Prefs>(key: K, value: Prefs[K]) {
  prefs.value = { ...prefs.value, [key]: value };
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs.value));
  } catch {
    // Private mode: the preference lasts for this page only.
  }
}
