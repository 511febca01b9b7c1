import { useEffect, useRef, useState } from "preact/hooks";
import { closeConversation, signOut } from "../actions";
import { askPermission, notificationsSupported, permission } from "../notify";
import * as S from "../store";
import { Avatar } from "./common";
import { IconBell, IconChat, IconChevronDown, IconLogout, IconVolume, Logo } from "./icons";

export function Header() {
  const unread = S.totalUnread.value;
  return (
    <header class="topbar">
      <a class="brand" href="/" onClick={(e) => (e.preventDefault(), closeConversation())}>
        <Logo />
        <span>Switchboard</span>
      </a>
      <nav class="tabs" aria-label="Sections">
        <a class="tab tab-active" href="/" aria-current="page" onClick={(e) => (e.preventDefault(), closeConversation())}>
          <IconChat />
          Messages
          {unread > 0 && (
            <span class="badge badge-tab" aria-label={`${unread} unread`}>
              {unread > 99 ? "99+" : unread}
            </span>
          )}
        </a>
      </nav>
      <ProfileMenu />
    </header>
  );
}

/** Under Messages: the kinds of messages (chat now; texting later). */
export function SubTabs() {
  return (
    <nav class="subtabs" aria-label="Messages">
      <a class="subtab subtab-active" href="/" aria-current="page" onClick={(e) => e.preventDefault()}>
        Chat
      </a>
    </nav>
  );
}

function ProfileMenu() {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const m = S.me.value!;

  useEffect(() => {
    if (!open) return;
    const first = root.current?.querySelector<HTMLElement>("[role^=menuitem]");
    first?.focus();
    const onDown = (e: PointerEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onDown);
    return () => document.removeEventListener("pointerdown", onDown);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  const onKey = (e: KeyboardEvent) => {
    const items = [...(root.current?.querySelectorAll<HTMLElement>("[role^=menuitem]") ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = items.length;
      items[(i + (e.key === "ArrowDown" ? 1 : n - 1)) % n]?.focus();
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      items[e.key === "Home" ? 0 : items.length - 1]?.focus();
    } else if (e.key === "Tab") {
      setOpen(false);
    }
  };

  const p = S.prefs.value;
  const perm = permission.value;
  const notifOn = p.notifications && perm === "granted";
  const toggleNotifications = async () => {
    if (notifOn) return S.setPref("notifications", false);
    if (perm === "default" && !(await askPermission())) return;
    S.setPref("notifications", true);
  };

  return (
    <div class="profile" ref={root} onKeyDown={onKey}>
      <button
        ref={button}
        type="button"
        class="profile-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls="profile-menu"
        onClick={() => setOpen(!open)}
      >
        <Avatar ext={m.extension} size="sm" />
        <span class="profile-name">{m.name}</span>
        <IconChevronDown />
      </button>
      {open && (
        <div class="menu" id="profile-menu" role="menu" aria-label="Profile">
          <div class="menu-head" role="presentation">
            <strong>{m.name}</strong>
            <span>
              {m.extension}@{m.domain}
            </span>
          </div>
          <button type="button" role="menuitem" class="menu-item" onClick={() => (closeConversation(), close())}>
            <IconChat />
            Messages
          </button>
          <div class="menu-sep" role="separator" />
          {notificationsSupported() && (
            <button
              type="button"
              role="menuitemcheckbox"
              aria-checked={notifOn}
              class="menu-item"
              disabled={perm === "denied"}
              onClick={toggleNotifications}
              title={perm === "denied" ? "Notifications are blocked in your browser's site settings." : undefined}
            >
              <IconBell />
              Desktop notifications
              <span class="switch" aria-hidden="true" />
            </button>
          )}
          <button
            type="button"
            role="menuitemcheckbox"
            aria-checked={p.sound}
            class="menu-item"
            onClick={() => S.setPref("sound", !p.sound)}
          >
            <IconVolume />
            Sound for new messages
            <span class="switch" aria-hidden="true" />
          </button>
          <div class="menu-sep" role="separator" />
          <button type="button" role="menuitem" class="menu-item" onClick={() => void signOut()}>
            <IconLogout />
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}
