import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { deleteMessage, discardSend, editMessage, retrySend } from "../actions";
import { attachmentURL, ApiError, thumbnailURL } from "../api";
import { clock, fullDate, size } from "../format";
import * as S from "../store";
import type { Attachment, ChatMessage, Upload } from "../types";
import { Avatar, confirm, lightbox } from "./common";
import { systemText } from "./ConversationList";
import { IconAlert, IconCheck, IconCheckDouble, IconClock, IconDownload, IconFile, IconPencil, IconTrash } from "./icons";

/** The message being edited, if any. */
const editing = signal<string | null>(null);

export function MessageItem(props: {
  m: ChatMessage;
  mine: boolean;
  group: boolean;
  continued: boolean;
  readBy: string[];
  everyone: number;
  receipt: boolean;
  onMedia: () => void;
}) {
  const { m, mine, group, continued } = props;
  if (m.kind !== "text") {
    return (
      <div class="system" data-seq={m.seq}>
        {systemText(m.kind, m.sender, m.targets ?? [], m.name ?? "")}
        <time dateTime={m.created_at} title={fullDate(m.created_at)}>
          {clock(m.created_at)}
        </time>
      </div>
    );
  }
  const isEditing = editing.value === m.id;
  const cls =
    "msg" +
    (mine ? " msg-mine" : " msg-theirs") +
    (continued ? " msg-continued" : "") +
    (m.local ? " msg-pending" : "") +
    (m.local?.state === "failed" ? " msg-failed" : "") +
    (m.deleted ? " msg-deleted" : "");
  return (
    <div class={cls} data-seq={m.seq || undefined} data-client-id={m.client_id || undefined}>
      {!mine && (continued ? <span class="msg-gutter" /> : <Avatar ext={m.sender} size="sm" showPresence={false} />)}
      <div class="msg-col">
        {!mine && group && !continued && <div class="msg-sender">{S.nameOf(m.sender)}</div>}
        <div class="msg-row">
          <div class="bubble">
            {m.deleted ? (
              <p class="msg-body msg-body-deleted">This message was deleted.</p>
            ) : isEditing ? (
              <Editor m={m} />
            ) : (
              <>
                {(m.attachments.length > 0 || (m.local?.uploads.length ?? 0) > 0) && (
                  <div class="attachments">
                    {m.attachments.map((a) => (
                      <AttachmentView key={a.id} a={a} onLoad={props.onMedia} />
                    ))}
                    {m.local?.uploads.map((u, i) => <UploadView key={i} u={u} onLoad={props.onMedia} />)}
                  </div>
                )}
                {m.body && <p class="msg-body">{linkify(m.body)}</p>}
              </>
            )}
            <span class="msg-meta">
              {m.edited_at && !m.deleted && <span class="msg-edited">edited</span>}
              <time dateTime={m.created_at} title={fullDate(m.created_at)}>
                {clock(m.created_at)}
              </time>
              {mine && !m.deleted && <Ticks m={m} readBy={props.readBy} everyone={props.everyone} />}
            </span>
          </div>
          {mine && !m.local && !m.deleted && !isEditing && <OwnActions m={m} />}
        </div>
        {m.status === "failed" && !m.local && (
          <div class="msg-error" role="alert">
            <IconAlert />
            <span>Not delivered{m.error ? `: ${m.error}` : "."}</span>
          </div>
        )}
        {m.local?.state === "failed" && (
          <div class="msg-error" role="alert">
            <IconAlert />
            <span>{m.local.error || "Not sent."}</span>
            <button type="button" class="link-button" onClick={() => retrySend(m.client_id)}>
              Try again
            </button>
            <button type="button" class="link-button" onClick={() => discardSend(m.conversation_id, m.client_id)}>
              Discard
            </button>
          </div>
        )}
        {props.receipt && props.readBy.length > 0 && (
          <div class="receipt">
            {!group || props.readBy.length === props.everyone
              ? group
                ? "Seen by everyone"
                : "Seen"
              : "Seen by " + props.readBy.map((e) => S.nameOf(e).split(/\s+/)[0]).join(", ")}
          </div>
        )}
      </div>
    </div>
  );
}

const smsStatus: Record<string, string> = { queued: "Queued", sent: "Sent", delivered: "Delivered", failed: "Not delivered" };

function Ticks({ m, readBy, everyone }: { m: ChatMessage; readBy: string[]; everyone: number }) {
  if (m.status && !m.local) {
    const label = smsStatus[m.status] ?? m.status;
    const icon = m.status === "delivered" ? <IconCheckDouble /> : m.status === "failed" ? <IconAlert /> : m.status === "queued" ? <IconClock /> : <IconCheck />;
    return (
      <span class={"tick tick-" + m.status} role="img" aria-label={label} title={m.error ? `${label}: ${m.error}` : label}>
        {icon}
      </span>
    );
  }
  if (m.local?.state === "sending")
    return (
      <span class="tick" role="img" aria-label="Sending" title="Sending">
        <IconClock />
      </span>
    );
  if (m.local) return null;
  if (everyone > 0 && readBy.length === everyone)
    return (
      <span class="tick tick-read" role="img" aria-label="Read" title="Read">
        <IconCheckDouble />
      </span>
    );
  return (
    <span class="tick" role="img" aria-label="Sent" title="Sent">
      <IconCheck />
    </span>
  );
}

function OwnActions({ m }: { m: ChatMessage }) {
  const remove = async () => {
    const ok = await confirm({
      title: "Delete this message?",
      body: "It will be deleted for everyone in the conversation.",
      action: "Delete",
      danger: true,
    });
    if (ok) await deleteMessage(m).catch(() => {});
  };
  return (
    <div class="msg-actions">
      {m.body && (
        <button type="button" class="icon-button icon-small" aria-label="Edit message" title="Edit" onClick={() => (editing.value = m.id)}>
          <IconPencil />
        </button>
      )}
      <button type="button" class="icon-button icon-small icon-danger" aria-label="Delete message" title="Delete" onClick={remove}>
        <IconTrash />
      </button>
    </div>
  );
}

function Editor({ m }: { m: ChatMessage }) {
  const [text, setText] = useState(m.body);
  const [error, setError] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current!;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = async () => {
    const body = text.trim();
    if (!body || body === m.body) return void (editing.value = null);
    try {
      await editMessage(m, body);
      editing.value = null;
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Could not save.");
    }
  };
  return (
    <div class="editor">
      <textarea
        ref={ref}
        class="editor-input"
        aria-label="Edit message"
        value={text}
        rows={Math.min(8, text.split("\n").length)}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void save();
          } else if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            editing.value = null;
          }
        }}
      />
      {error && <p class="form-error">{error}</p>}
      <div class="editor-actions">
        <span class="muted">Enter to save · Esc to cancel</span>
        <button type="button" class="button button-compact" onClick={() => (editing.value = null)}>
          Cancel
        </button>
        <button type="button" class="button button-primary button-compact" onClick={save}>
          Save
        </button>
      </div>
    </div>
  );
}

/** The size a picture is shown at in the history: within 320×240. */
function fit(w: number, h: number): [number, number] {
  const k = Math.min(1, 320 / w, 240 / h);
  return [Math.max(40, Math.round(w * k)), Math.max(40, Math.round(h * k))];
}

function AttachmentView({ a, onLoad }: { a: Attachment; onLoad: () => void }) {
  if (a.content_type.startsWith("image/") && a.width && a.height) {
    const [w, h] = fit(a.width, a.height);
    return (
      <button type="button" class="thumb" onClick={() => (lightbox.value = a)} aria-label={`View ${a.name} full size`}>
        <img src={thumbnailURL(a.id)} alt={a.name} width={w} height={h} loading="lazy" onLoad={onLoad} />
      </button>
    );
  }
  return (
    <a class="file" href={attachmentURL(a.id)} download={a.name} title={`Download ${a.name}`}>
      <span class="file-icon" aria-hidden="true">
        <IconFile />
      </span>
      <span class="file-text">
        <span class="file-name">{a.name}</span>
        <span class="file-size">{size(a.size)}</span>
      </span>
      <IconDownload class="file-download" />
    </a>
  );
}

function UploadView({ u, onLoad }: { u: Upload; onLoad: () => void }) {
  const pct = Math.round(u.progress * 100);
  const bar = (
    <progress class="upload-progress" max={100} value={pct} aria-label={`Uploading ${u.name}: ${pct}%`}>
      {pct}%
    </progress>
  );
  if (u.preview) {
    return (
      <div class="thumb thumb-pending">
        <img src={u.preview} alt={u.name} onLoad={onLoad} />
        {bar}
      </div>
    );
  }
  return (
    <div class="file file-pending">
      <span class="file-icon" aria-hidden="true">
        <IconFile />
      </span>
      <span class="file-text">
        <span class="file-name">{u.name}</span>
        <span class="file-size">{size(u.size)}</span>
        {bar}
      </span>
    </div>
  );
}

const urlPattern = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/g;

/** The body as text with web addresses as links (never as HTML). */
function linkify(body: string): ComponentChildren {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const match of body.matchAll(urlPattern)) {
    const i = match.index!;
    if (i > last) out.push(body.slice(last, i));
    out.push(
      <a href={match[0]} target="_blank" rel="noopener noreferrer">
        {match[0]}
      </a>,
    );
    last = i + match[0].length;
  }
  if (last < body.length) out.push(body.slice(last));
  return out;
}
