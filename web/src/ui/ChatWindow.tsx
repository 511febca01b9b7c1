import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import { closeConversation, loadOlder, markRead } from "../actions";
import { dayLabel, sameDay } from "../format";
import * as S from "../store";
import type { ChatMessage, Conversation } from "../types";
import { ConversationAvatar } from "./common";
import { Composer } from "./Composer";
import { IconArrowDown, IconBack, IconChat } from "./icons";
import { MessageItem } from "./MessageItem";

export function ChatPane() {
  const c = S.openConversation.value;
  const id = S.openId.value;
  if (!id) return <NoChat />;
  if (!c) {
    const t = S.thread(id);
    return (
      <section class="chat-pane chat-missing" aria-label="Conversation">
        <div class="empty">
          {t.error.value || !S.conversationsLoaded.value ? (
            <>
              <h3>{t.error.value ? "This conversation is not available" : "Loading…"}</h3>
              {t.error.value && <p>{t.error.value}</p>}
            </>
          ) : (
            <h3>This conversation is not in your list</h3>
          )}
          <button type="button" class="button" onClick={closeConversation}>
            Back to conversations
          </button>
        </div>
      </section>
    );
  }
  return <ChatWindow key={c.id} c={c} />;
}

function NoChat() {
  const empty = S.conversationsLoaded.value && S.conversations.value.length === 0;
  const first = S.me.value?.name.split(/\s+/)[0] ?? "";
  return (
    <section class="chat-pane chat-none" aria-label="Conversation">
      <div class="empty">
        <div class="empty-art" aria-hidden="true">
          <IconChat />
        </div>
        <h3>{empty ? `Welcome, ${first}` : "Pick a conversation"}</h3>
        <p>
          {empty
            ? "Your conversations will show here. Start one with New conversation, or click a colleague in the contact list."
            : "Choose a conversation on the left to read and reply, or start a new one."}
        </p>
      </div>
    </section>
  );
}

function ChatWindow({ c }: { c: Conversation }) {
  const peer = S.peerOf(c);
  const title = S.titleOf(c);
  const visible = S.visible.value;
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const dropped = useRef<(files: File[]) => void>(() => {});

  useEffect(() => {
    if (visible) markRead(c.id);
  }, [c.id, c.last_seq, c.unread, visible]);

  let subtitle: string;
  if (c.kind === "sms") {
    subtitle = `Text messages from ${S.formatPhone(c.texting_number ?? "")}`;
  } else if (peer) {
    const p = S.presenceOf(peer);
    subtitle = `${S.presenceText(p)} · Ext. ${peer}`;
  } else {
    subtitle = `${c.members.length} members · ${c.members.map((e) => (e === S.myExt() ? "you" : S.nameOf(e).split(/\s+/)[0])).join(", ")}`;
  }

  const hasFiles = (e: DragEvent) => [...(e.dataTransfer?.types ?? [])].includes("Files");

  return (
    <section
      class="chat-pane chat"
      aria-label={`Conversation with ${title}`}
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current++;
        setDragging(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={() => {
        if (--dragDepth.current <= 0) {
          dragDepth.current = 0;
          setDragging(false);
        }
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        dropped.current([...(e.dataTransfer?.files ?? [])]);
      }}
    >
      <header class="chat-head">
        <button type="button" class="icon-button back-button" aria-label="Back to conversations" onClick={closeConversation}>
          <IconBack />
        </button>
        <ConversationAvatar c={c} />
        <div class="chat-head-text">
          <h2 class="chat-title">{title}</h2>
          <p class="chat-subtitle">{subtitle}</p>
        </div>
      </header>
      <History c={c} />
      <TypingLine c={c} />
      <Composer c={c} onFilesRef={dropped} />
      {dragging && (
        <div class="dropzone" aria-hidden="true">
          <div>Drop files to send them to {title}</div>
        </div>
      )}
    </section>
  );
}

/** Messages closer than this to the previous one of the same sender share its header. */
const GROUP_GAP = 5 * 60_000;

function History({ c }: { c: Conversation }) {
  const t = S.thread(c.id);
  const messages = t.messages.value;
  const loaded = t.loaded.value;
  const hasOlder = t.hasOlder.value;
  const loading = t.loading.value;
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prev = useRef<{ first?: string; last?: string; height: number }>({ height: 0 });
  const [jump, setJump] = useState(false);

  const toBottom = () => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const first = messages[0]?.id;
    const lastMsg = messages[messages.length - 1];
    const p = prev.current;
    if (p.first && first !== p.first && messages.some((m) => m.id === p.first)) {
      // Older messages came in above: keep what the user looks at in place.
      el.scrollTop += el.scrollHeight - p.height;
    } else if (atBottom.current || (lastMsg?.local && lastMsg.id !== p.last)) {
      toBottom();
      atBottom.current = true;
    } else if (lastMsg && lastMsg.id !== p.last) {
      setJump(true);
    }
    prev.current = { first, last: lastMsg?.id, height: el.scrollHeight };
    // A short history leaves nothing to scroll: fetch more right away.
    if (loaded && hasOlder && !loading && el.scrollHeight <= el.clientHeight + 40) void loadOlder(c.id);
  });

  const onScroll = () => {
    const el = box.current!;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (atBottom.current) setJump(false);
    if (el.scrollTop < 400) void loadOlder(c.id);
  };

  const mine = S.myExt();
  // Read receipts are for chats; texts have a delivery status instead.
  const others = c.kind === "chat" ? S.others(c) : [];
  let lastMineSeq = 0;
  for (const m of messages) if (!m.local && m.sender === mine && m.kind === "text" && !m.deleted) lastMineSeq = m.seq;

  const items: JSX.Element[] = [];
  let before: ChatMessage | undefined;
  for (const m of messages) {
    if (!before || !sameDay(before.created_at, m.created_at)) {
      items.push(
        <div class="day" role="separator" key={"day-" + m.created_at.slice(0, 10) + m.id}>
          <span>{dayLabel(m.created_at)}</span>
        </div>,
      );
      before = undefined;
    }
    const continued =
      !!before &&
      before.kind === "text" &&
      m.kind === "text" &&
      before.sender === m.sender &&
      Date.parse(m.created_at) - Date.parse(before.created_at) < GROUP_GAP;
    const readBy = m.sender === mine && !m.local ? others.filter((e) => (c.read[e] ?? 0) >= m.seq) : [];
    items.push(
      <MessageItem
        key={m.local ? "local-" + m.client_id : m.id}
        m={m}
        mine={m.sender === mine}
        group={!S.peerOf(c)}
        continued={continued}
        readBy={readBy}
        everyone={others.length}
        receipt={m.seq === lastMineSeq && !m.local}
        onMedia={() => atBottom.current && toBottom()}
      />,
    );
    before = m;
  }

  return (
    <div class="history-wrap">
      <div
        class="history"
        ref={box}
        role="log"
        aria-live="off"
        aria-label={`Messages with ${S.titleOf(c)}`}
        tabIndex={0}
        onScroll={onScroll}
      >
        {loaded && hasOlder && (
          <div class="history-top">
            {loading ? (
              <span class="muted" role="status">
                <span class="spinner" aria-hidden="true" /> Loading earlier messages…
              </span>
            ) : (
              <button type="button" class="link-button" onClick={() => loadOlder(c.id)}>
                Load earlier messages
              </button>
            )}
          </div>
        )}
        {loaded && !hasOlder && (
          <div class="history-start">
            <ConversationAvatar c={c} size="lg" />
            <p>
              This is the beginning of your conversation with <strong>{S.titleOf(c)}</strong>.
            </p>
          </div>
        )}
        {!loaded && (
          <div class="history-loading" role="status">
            {t.error.value || (
              <>
                <span class="spinner" aria-hidden="true" /> Loading messages…
              </>
            )}
          </div>
        )}
        {items}
      </div>
      {jump && (
        <button
          type="button"
          class="jump"
          onClick={() => {
            toBottom();
            setJump(false);
          }}
        >
          <IconArrowDown />
          New messages
        </button>
      )}
    </div>
  );
}

function TypingLine({ c }: { c: Conversation }) {
  const who = Object.keys(S.typing.value[c.id] ?? {}).filter((e) => c.members.includes(e));
  const names = who.map((e) => S.nameOf(e));
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing`;
  else if (names.length > 2) text = "Several people are typing";
  return (
    <div class="typing" aria-live="polite">
      {text && (
        <>
          <span class="typing-dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          {text}…
        </>
      )}
    </div>
  );
}
