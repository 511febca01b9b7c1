// The REST client. The session is the HttpOnly cookie set by login, so
// requests carry nothing else; a 401 anywhere means the session is over.

import type { Attachment, Contact, Conversation, Me, Message, Presence } from "./types";

/** An error of the API ({"error":{"code","message"}}), or of the network (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** Worth trying again later: the network or the server is down. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

let unauthorized: () => void = () => {};

/** Sets what happens when the session turns out to be over. */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection.");
  }
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error;
    const e = new ApiError(res.status, err?.code ?? "internal", err?.message ?? `The server answered ${res.status}.`);
    if (res.status === 401 && path !== "/api/v1/login") unauthorized();
    throw e;
  }
  return data as T;
}

const enc = encodeURIComponent;

export const api = {
  login: (username: string, password: string) =>
    request<{ token: string; user: Me }>("POST", "/api/v1/login", { username, password }),
  logout: () => request<void>("POST", "/api/v1/logout"),
  me: () => request<Me>("GET", "/api/v1/me"),
  contacts: (q = "", signal?: AbortSignal) =>
    request<{ contacts: Contact[] }>("GET", "/api/v1/contacts" + (q ? "?q=" + enc(q) : ""), undefined, signal).then(
      (r) => r.contacts,
    ),
  setPresence: (p: { dnd?: boolean; message?: string }) => request<Presence>("PUT", "/api/v1/me/presence", p),
  conversations: () =>
    request<{ conversations: Conversation[] }>("GET", "/api/v1/conversations?limit=500").then((r) => r.conversations),
  conversation: (id: string) => request<Conversation>("GET", "/api/v1/conversations/" + enc(id)),
  createConversation: (members: string[], name?: string) =>
    request<Conversation>("POST", "/api/v1/conversations", name ? { members, name } : { members }),
  createTextConversation: (from: string, to: string[]) =>
    request<Conversation>("POST", "/api/v1/conversations", { from, to }),
  deleteConversation: (id: string) => request<void>("DELETE", "/api/v1/conversations/" + enc(id)),
  markRead: (id: string, seq: number) => request<void>("POST", `/api/v1/conversations/${enc(id)}/read`, { seq }),
  messages: (id: string, page: { before?: number; after?: number; limit?: number } = {}) => {
    const q = new URLSearchParams({ limit: String(page.limit ?? 50) });
    if (page.before !== undefined) q.set("before", String(page.before));
    if (page.after !== undefined) q.set("after", String(page.after));
    return request<{ messages: Message[] }>("GET", `/api/v1/conversations/${enc(id)}/messages?${q}`).then(
      (r) => r.messages,
    );
  },
  send: (id: string, m: { client_id: string; body: string; attachments: string[] }) =>
    request<Message>("POST", `/api/v1/conversations/${enc(id)}/messages`, m),
  edit: (id: string, mid: string, body: string) =>
    request<Message>("PATCH", `/api/v1/conversations/${enc(id)}/messages/${enc(mid)}`, { body }),
  deleteMessage: (id: string, mid: string) =>
    request<void>("DELETE", `/api/v1/conversations/${enc(id)}/messages/${enc(mid)}`),
};

export const attachmentURL = (id: string) => "/api/v1/attachments/" + enc(id);
export const thumbnailURL = (id: string) => attachmentURL(id) + "/thumbnail";

/**
 * Uploads a file as multipart field "file", reporting progress (0..1).
 * XMLHttpRequest, because fetch reports no upload progress.
 */
export function upload(file: File, onProgress: (fraction: number) => void): Promise<Attachment> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/attachments");
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status === 201 || xhr.status === 200) {
        onProgress(1);
        resolve(xhr.response as Attachment);
        return;
      }
      const err = (xhr.response as { error?: { code?: string; message?: string } } | null)?.error;
      if (xhr.status === 401) unauthorized();
      reject(new ApiError(xhr.status, err?.code ?? "internal", err?.message ?? `Upload failed (${xhr.status}).`));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload was interrupted."));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}
