import { useState } from "preact/hooks";
import { chatWith } from "../actions";
import * as S from "../store";
import type { Color } from "../types";
import { Avatar, PresenceDot } from "./common";
import { IconChevronDown, IconChevronUp, IconSearch, IconUsers } from "./icons";

const narrow = window.matchMedia("(max-width: 720px)");
const legend: Color[] = ["blue", "green", "red", "gray"];

/**
 * The contact list docked bottom right: every extension of my domain with
 * its presence colour, live; a click opens the chat with that person.
 */
export function ContactDock() {
  const open = S.prefs.value.dockOpen;
  const [q, setQ] = useState("");
  const mine = S.myExt();
  const all = S.contacts.value.filter((c) => c.extension !== mine);
  const online = all.filter((c) => S.presenceOf(c.extension).color !== "gray").length;
  const query = q.trim();
  const shown = all.filter((c) => S.matchesContact(c, query)).sort((a, b) => a.name.localeCompare(b.name) || a.extension.localeCompare(b.extension));
  const toggle = () => S.setPref("dockOpen", !open);

  return (
    <aside class={"dock" + (open ? " dock-open" : "")} aria-label="Contacts">
      {
        <div class="dock-panel" id="dock-panel" hidden={!open}>
          <div class="dock-search">
            <IconSearch />
            <input
              type="search"
              aria-label="Search contacts"
              placeholder="Search by name or extension"
              value={q}
              onInput={(e) => setQ(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Escape") {
                  if (q) setQ("");
                  else toggle();
                }
              }}
            />
          </div>
          <ul class="legend" aria-label="Presence colours">
            {legend.map((c) => (
              <li key={c}>
                <PresenceDot color={c} />
                {S.presenceLabels[c]}
              </li>
            ))}
          </ul>
          <ul class="contacts">
            {shown.length === 0 && <li class="results-empty">{query ? `No one matches “${query}”.` : "No one else is in your domain yet."}</li>}
            {shown.map((c) => {
              const p = S.presenceOf(c.extension);
              return (
                <li key={c.extension}>
                  <button
                    type="button"
                    class="contact"
                    data-ext={c.extension}
                    data-presence={p.color}
                    onClick={() => {
                      if (narrow.matches) S.setPref("dockOpen", false);
                      void chatWith(c.extension);
                    }}
                    aria-label={`Chat with ${c.name}, extension ${c.extension}, ${S.presenceText(p)}`}
                  >
                    <Avatar ext={c.extension} size="sm" />
                    <span class="contact-text">
                      <span class="contact-name">{c.name}</span>
                      <span class="contact-status">
                        Ext. {c.extension} · {S.presenceText(p)}
                      </span>
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </div>
      }
      <button type="button" class="dock-bar" aria-expanded={open} aria-controls="dock-panel" onClick={toggle}>
        <IconUsers />
        <span class="dock-title">Contacts</span>
        <span class="dock-count">{online} online</span>
        {open ? <IconChevronDown /> : <IconChevronUp />}
      </button>
    </aside>
  );
}
