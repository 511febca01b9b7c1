import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { openConversation, startConversation } from "../actions";
import { api, ApiError } from "../api";
import * as S from "../store";
import type { Contact } from "../types";
import { Avatar, CloseButton, Modal, PhoneAvatar } from "./common";
import { newConversationOpen } from "./ConversationList";
import { IconCheck, IconClose, IconSearch } from "./icons";

export function NewConversationHost() {
  return newConversationOpen.value ? <NewConversation onClose={() => (newConversationOpen.value = false)} /> : null;
}

/** A pick: an extension ("102"), or a phone number to text ("tel:(415) 555-0199"). */
type Pick = string;
const TEL = "tel:";

function pickLabel(p: Pick): string {
  return p.startsWith(TEL) ? p.slice(TEL.length) : S.nameOf(p);
}

/** Whether a query looks like a phone number (and not only an extension prefix). */
function phoneLike(q: string): boolean {
  return /^\+?[\d\s().-]+$/.test(q) && q.replace(/\D/g, "").length >= 7;
}

/**
 * The New Conversation pop-up: a search field that finds extensions of my
 * domain by name or number as I type, several picks for a group with an
 * optional name, and Start. With a texting number, a phone number in any
 * common format starts a text conversation.
 */
function NewConversation({ onClose }: { onClose: () => void }) {
  const [q, setQ] = useState("");
  const [remote, setRemote] = useState<{ q: string; list: Contact[] } | null>(null);
  const [active, setActive] = useState(0);
  const [navigated, setNavigated] = useState(false);
  const [picked, setPicked] = useState<Pick[]>([]);
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const search = useRef<HTMLInputElement>(null);
  const mine = S.myExt();
  const textingNumbers = S.me.value?.texting_numbers ?? [];
  const [from, setFrom] = useState(textingNumbers[0] ?? "");

  // Matches show at once from the contact list I have; the server's search
  // then adds anyone my list does not know yet.
  const query = q.trim();
  const list = useMemo(() => {
    const byExt = new Map<string, Contact>();
    for (const c of S.contacts.value) if (S.matchesContact(c, query)) byExt.set(c.extension, c);
    if (remote?.q === query) for (const c of remote.list) byExt.set(c.extension, c);
    byExt.delete(mine);
    return [...byExt.values()].sort((a, b) => a.extension.localeCompare(b.extension, undefined, { numeric: true }));
  }, [query, remote, S.contacts.value]);
  const phone = textingNumbers.length > 0 && phoneLike(query) ? TEL + query : null;
  const options: Pick[] = [...list.map((c) => c.extension), ...(phone ? [phone] : [])];

  useEffect(() => {
    setActive(0);
    setNavigated(false);
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      api.contacts(query, ctl.signal).then(
        (found) => setRemote({ q: query, list: found }),
        () => {},
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [query]);

  const toggle = (p: Pick) => {
    setPicked((cur) => (cur.includes(p) ? cur.filter((e) => e !== p) : [...cur, p]));
    setQ("");
    setError("");
    search.current?.focus();
  };

  const phones = picked.filter((p) => p.startsWith(TEL)).map((p) => p.slice(TEL.length));
  const exts = picked.filter((p) => !p.startsWith(TEL));
  const mixed = phones.length > 0 && exts.length > 0;

  const start = async () => {
    if (picked.length === 0 || busy) return;
    if (mixed) {
      setError("Text messages go to phone numbers only: start a separate chat with your colleagues.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      if (phones.length > 0) {
        const c = await api.createTextConversation(from, phones);
        S.putConversation(c, false);
        await openConversation(c.id, { focus: true });
      } else {
        await startConversation(exts, exts.length > 1 ? name.trim() || undefined : undefined);
      }
      onClose();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Could not start the conversation.");
      setBusy(false);
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = options.length;
      if (n) setActive((a) => (a + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
      setNavigated(true);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if ((query || navigated) && options[active]) toggle(options[active]!);
      else if (picked.length) void start();
    } else if (e.key === "Backspace" && !q && picked.length) {
      setPicked(picked.slice(0, -1));
    }
  };

  const group = exts.length > 1 && phones.length === 0;
  let summary = "Pick one person, or several for a group.";
  if (phones.length) summary = phones.length > 1 ? "Group text message" : "Text message";
  else if (group) summary = `Group of ${exts.length + 1}`;
  else if (exts.length) summary = "1:1 conversation";

  return (
    <Modal labelledBy="nc-title" onClose={onClose} class="modal-new">
      <form
        class="modal-body"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <div class="modal-head">
          <h2 id="nc-title">New conversation</h2>
          <CloseButton onClick={onClose} />
        </div>
        <label for="nc-search" class="field-label">
          To
        </label>
        <div class="picker" onClick={() => search.current?.focus()}>
          {picked.map((p) => (
            <span class="chip" key={p}>
              {pickLabel(p)}
              <button
                type="button"
                class="chip-remove"
                aria-label={`Remove ${pickLabel(p)}`}
                onClick={(e) => {
                  e.stopPropagation();
                  toggle(p);
                }}
              >
                <IconClose />
              </button>
            </span>
          ))}
          <span class="picker-search">
            <IconSearch />
            <input
              ref={search}
              id="nc-search"
              type="text"
              role="combobox"
              aria-expanded={options.length > 0}
              aria-controls="nc-results"
              aria-autocomplete="list"
              aria-activedescendant={options[active] ? optionId(options[active]!) : undefined}
              autoComplete="off"
              spellcheck={false}
              placeholder={
                picked.length ? "Add another" : textingNumbers.length ? "Name, extension or phone number" : "Name or extension number"
              }
              value={q}
              onInput={(e) => setQ(e.currentTarget.value)}
              onKeyDown={onKey}
              autofocus
            />
          </span>
        </div>
        <ul class="results" id="nc-results" role="listbox" aria-label="Matches" aria-multiselectable="true">
          {options.length === 0 && (
            <li class="results-empty">{query ? `No one matches “${query}”.` : "No one else is in your domain yet."}</li>
          )}
          {options.map((p, i) => {
            const on = picked.includes(p);
            const c = p.startsWith(TEL) ? null : list.find((x) => x.extension === p)!;
            return (
              <li
                key={p}
                id={optionId(p)}
                role="option"
                aria-selected={on}
                class={"result" + (i === active ? " result-active" : "") + (on ? " result-picked" : "")}
                onClick={() => toggle(p)}
                onMouseMove={() => i !== active && setActive(i)}
              >
                {c ? <Avatar ext={c.extension} size="sm" /> : <PhoneAvatar size="sm" />}
                <span class="result-text">
                  <span class="result-name">{c ? c.name : `Text ${pickLabel(p)}`}</span>
                  <span class="result-ext">
                    {c ? `Ext. ${c.extension} · ${S.presenceText(S.presenceOf(c.extension))}` : "A text message to this phone number"}
                  </span>
                </span>
                {on && <IconCheck class="result-check" />}
              </li>
            );
          })}
        </ul>
        {group && (
          <div class="field">
            <label for="nc-name" class="field-label">
              Group name <span class="muted">(optional)</span>
            </label>
            <input
              id="nc-name"
              type="text"
              maxLength={100}
              placeholder="Front desk"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </div>
        )}
        {phones.length > 0 && textingNumbers.length > 1 && (
          <div class="field">
            <label for="nc-from" class="field-label">
              From
            </label>
            <select id="nc-from" value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
              {textingNumbers.map((n) => (
                <option key={n} value={n}>
                  {S.formatPhone(n)}
                </option>
              ))}
            </select>
          </div>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <span class="muted modal-summary">{summary}</span>
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={picked.length === 0 || busy}>
            {busy ? "Starting…" : "Start"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function optionId(p: Pick): string {
  return p.startsWith(TEL) ? "nc-opt-tel" : "nc-opt-" + p;
}
