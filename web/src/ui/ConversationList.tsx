import { signal } from "@preact/signals";
import { useRef } from "preact/hooks";
import { deleteConversation, openConversation } from "../actions";
import { fullDate, relative } from "../format";
import { askPermission, notificationsSupported, permission, preview } from "../notify";
import * as S from "../store";
import type { Conversation } from "../types";
import { confirm, ConversationAvatar } from "./common";
import { IconBell, IconChat, IconClose, IconPlus, IconReply, IconTrash } from "./icons";

/** The New Conversation dialog is open. */
export const newConversationOpen = signal(false);

export async function confirmDelete(c: Conversation) {
  const ok = await confirm({
    title: "Delete this conversation?",
    body: S.peerOf(c)
      ? `Your conversation with ${S.titleOf(c)} and its history will be removed from your list. ${S.titleOf(c)} keeps theirs, and a new message brings it back.`
      : `“${S.titleOf(c)}” and its history will be removed from your list. The other members keep theirs, and a new message brings it back.`,
    action: "Delete",
    danger: true,
  });
  if (ok) await deleteConversation(c.id).catch(() => {});
}

export function ListPane() {
  const open = S.openConversation.value;
  return (
    <section class="list-pane" aria-label="Conversations">
      <div class="list-toolbar">
        <h2 class="visually-hidden">Conversations</h2>
        <button type="button" class="button button-primary button-compact" onClick={() => (newConversationOpen.value = true)}>
          <IconPlus />
          New conversation
        </button>
        <div class="toolbar-actions">
          <button
            type="button"
            class="icon-button"
            aria-label="Reply"
            title="Reply"
            disabled={!open}
            onClick={() => open && openConversation(open.id, { focus: true })}
          >
            <IconReply />
          </button>
          <button
            type="button"
            class="icon-button icon-danger"
            aria-label="Delete conversation"
            title="Delete conversation"
            disabled={!open}
            onClick={() => open && confirmDelete(open)}
          >
            <IconTrash />
          </button>
        </div>
      </div>
      <ConversationList />
      <NotifyHint />
    </section>
  );
}

function ConversationList() {
  const list = S.conversations.value;
  const openId = S.openId.value;
  const ref = useRef<HTMLUListElement>(null);

  if (!S.conversationsLoaded.value) {
    return (
      <div class="list-loading" role="status">
        <span class="spinner" aria-hidden="true" /> Loading conversations…
      </div>
    );
  }
  if (list.length === 0) {
    return (
      <div class="empty">
        <div class="empty-art" aria-hidden="true">
          <IconChat />
        </div>
        <h3>No conversations yet</h3>
        <p>Start a chat with anyone at {S.me.value?.domain ?? "your company"}, or pick a colleague from the contact list.</p>
        <button type="button" class="button button-primary" onClick={() => (newConversationOpen.value = true)}>
          <IconPlus />
          Start a conversation
        </button>
      </div>
    );
  }

  const focusIndex = Math.max(
    0,
    list.findIndex((c) => c.id === openId),
  );
  const onKey = (e: KeyboardEvent, i: number, c: Conversation) => {
    const go = (j: number) => {
      const next = list[Math.max(0, Math.min(list.length - 1, j))]!;
      void openConversation(next.id);
      ref.current?.querySelector<HTMLElement>(`[data-id="${CSS.escape(next.id)}"]`)?.focus();
    };
    if (e.key === "ArrowDown") go(i + 1);
    else if (e.key === "ArrowUp") go(i - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(list.length - 1);
    else if (e.key === "Enter" || e.key === " ") void openConversation(c.id, { focus: true });
    else if (e.key === "Delete") void confirmDelete(c);
    else return;
    e.preventDefault();
  };

  return (
    <ul class="conversations" role="listbox" aria-label="Conversations, newest first" ref={ref}>
      {list.map((c, i) => (
        <Row key={c.id} c={c} selected={c.id === openId} tabbable={i === focusIndex} onKey={(e) => onKey(e, i, c)} />
      ))}
    </ul>
  );
}

function Row({ c, selected, tabbable, onKey }: { c: Conversation; selected: boolean; tabbable: boolean; onKey: (e: KeyboardEvent) => void }) {
  const title = S.titleOf(c);
  const peer = S.peerOf(c);
  const m = c.last_message;
  let text = m ? preview(m) : "No messages yet";
  if (m && m.kind !== "text") text = systemText(m.kind, m.sender, m.targets ?? [], m.name ?? "");
  else if (m && m.sender === S.myExt()) text = (m.seq === 0 ? "Sending… " : "You: ") + text;
  else if (m && !peer && c.kind === "chat") text = `${S.nameOf(m.sender).split(/\s+/)[0]}: ${text}`;
  const when = m?.created_at ?? c.updated_at;
  const label = `${title}${c.unread ? `, ${c.unread} unread` : ""}`;
  return (
    <li
      role="option"
      aria-selected={selected}
      aria-label={label}
      data-id={c.id}
      tabIndex={tabbable ? 0 : -1}
      class={"conv" + (selected ? " conv-selected" : "") + (c.unread ? " conv-unread" : "")}
      onClick={() => openConversation(c.id)}
      onKeyDown={onKey}
    >
      <ConversationAvatar c={c} />
      <div class="conv-main">
        <div class="conv-top">
          <span class="conv-title">{title}</span>
          <time class="conv-time" dateTime={when} title={fullDate(when)}>
            {relative(when)}
          </time>
        </div>
        <div class="conv-bottom">
          <span class="conv-preview">{text}</span>
          {c.unread > 0 && (
            <span class="badge" aria-hidden="true">
              {c.unread > 99 ? "99+" : c.unread}
            </span>
          )}
        </div>
      </div>
    </li>
  );
}

/** The line of a system message: "Avery added Casey". */
export function systemText(kind: string, sender: string, targets: string[], name: string): string {
  const who = sender === S.myExt() ? "You" : S.nameOf(sender);
  const list = targets.map((t) => (t === S.myExt() ? "you" : S.nameOf(t))).join(", ");
  switch (kind) {
    case "member_added":
      return `${who} added ${list}`;
    case "member_removed":
      return `${who} removed ${list}`;
    case "member_left":
      return `${who} left`;
    case "renamed":
      return `${who} renamed the group to “${name}”`;
    default:
      return "";
  }
}

function NotifyHint() {
  if (!notificationsSupported() || permission.value !== "default" || S.prefs.value.notifyHintDismissed) return null;
  if (!S.conversationsLoaded.value) return null;
  return (
    <div class="hint-bar">
      <IconBell />
      <span>Be notified of new messages while Switchboard is in the background.</span>
      <button type="button" class="button button-compact" onClick={() => void askPermission()}>
        Turn on
      </button>
      <button
        type="button"
        class="icon-button"
        aria-label="Dismiss"
        title="Dismiss"
        onClick={() => S.setPref("notifyHintDismissed", true)}
      >
        <IconClose />
      </button>
    </div>
  );
}
