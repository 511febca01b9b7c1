// Small building blocks: avatars with presence, the modal dialog, the
// confirmation dialog and the full-size picture view.

import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { attachmentURL } from "../api";
import { initials, size } from "../format";
import * as S from "../store";
import type { Attachment, Color, Conversation } from "../types";
import { IconClose, IconDownload, IconPhone, IconUsers } from "./icons";

const palette = 8;

/** A stable colour class for a person, from the extension. */
function tint(key: string): string {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return "tint-" + (h % palette);
}

export function PresenceDot({ color, label }: { color: Color; label?: string }) {
  return label ? (
    <span class={"dot dot-" + color} role="img" aria-label={label} title={label} />
  ) : (
    <span class={"dot dot-" + color} aria-hidden="true" />
  );
}

/** A person's initials in a circle, with their presence dot. */
export function Avatar({ ext, size: sz = "md", showPresence = true }: { ext: string; size?: "sm" | "md" | "lg"; showPresence?: boolean }) {
  if (ext.startsWith("+")) return <PhoneAvatar size={sz} />;
  const p = S.presenceOf(ext);
  return (
    <span class={`avatar avatar-${sz} ${tint(ext)}`} aria-hidden="true">
      {initials(S.nameOf(ext))}
      {showPresence && <span class={"avatar-dot dot-" + p.color} />}
    </span>
  );
}

export function PhoneAvatar({ size: sz = "md" }: { size?: "sm" | "md" | "lg" }) {
  return (
    <span class={`avatar avatar-${sz} avatar-phone`} aria-hidden="true">
      <IconPhone />
    </span>
  );
}

/** The avatar of a conversation: the other person's, a phone for texts, or a group's. */
export function ConversationAvatar({ c, size: sz = "md" }: { c: Conversation; size?: "sm" | "md" | "lg" }) {
  const peer = S.peerOf(c);
  if (peer) return <Avatar ext={peer} size={sz} />;
  if (c.kind === "sms") return <PhoneAvatar size={sz} />;
  return <GroupAvatar size={sz} />;
}

export function GroupAvatar({ size: sz = "md" }: { size?: "sm" | "md" | "lg" }) {
  return (
    <span class={`avatar avatar-${sz} avatar-group`} aria-hidden="true">
      <IconUsers />
    </span>
  );
}

/**
 * A modal dialog on the native <dialog>: it traps focus, closes on Escape
 * (onClose), and gives the focus back to where it was.
 */
export function Modal(props: {
  labelledBy: string;
  onClose: () => void;
  class?: string;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    const back = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    return () => {
      if (d.open) d.close();
      back?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={"modal " + (props.class ?? "")}
      aria-labelledby={props.labelledBy}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself) closes it.
        if (e.target === ref.current) props.onClose();
      }}
    >
      {props.children}
    </dialog>
  );
}

export function CloseButton({ onClick, label = "Close" }: { onClick: () => void; label?: string }) {
  return (
    <button type="button" class="icon-button" aria-label={label} title={label} onClick={onClick}>
      <IconClose />
    </button>
  );
}

// ---- confirmation ----

interface ConfirmRequest {
  title: string;
  body: string;
  action: string;
  danger?: boolean;
  resolve: (ok: boolean) => void;
}

const confirmRequest = signal<ConfirmRequest | null>(null);

/** Asks the user to confirm; resolves true when they do. */
export function confirm(r: Omit<ConfirmRequest, "resolve">): Promise<boolean> {
  return new Promise((resolve) => (confirmRequest.value = { ...r, resolve }));
}

export function ConfirmHost() {
  const r = confirmRequest.value;
  if (!r) return null;
  const done = (ok: boolean) => {
    confirmRequest.value = null;
    r.resolve(ok);
  };
  return (
    <Modal labelledBy="confirm-title" onClose={() => done(false)} class="modal-small">
      <div class="modal-body confirm" role="alertdialog" aria-describedby="confirm-body">
        <h2 id="confirm-title">{r.title}</h2>
        <p id="confirm-body">{r.body}</p>
        <div class="modal-actions">
          <button type="button" class="button" onClick={() => done(false)} autofocus>
            Cancel
          </button>
          <button type="button" class={"button " + (r.danger ? "button-danger" : "button-primary")} onClick={() => done(true)}>
            {r.action}
          </button>
        </div>
      </div>
    </Modal>
  );
}

// ---- full-size picture ----

export const lightbox = signal<Attachment | null>(null);

export function LightboxHost() {
  const a = lightbox.value;
  if (!a) return null;
  const close = () => (lightbox.value = null);
  return (
    <Modal labelledBy="lightbox-title" onClose={close} class="lightbox">
      <div class="lightbox-bar">
        <div class="lightbox-title">
          <strong id="lightbox-title">{a.name}</strong>
          <span>
            {a.width && a.height ? `${a.width} × ${a.height} · ` : ""}
            {size(a.size)}
          </span>
        </div>
        <a class="icon-button" href={attachmentURL(a.id)} download={a.name} aria-label={`Download ${a.name}`} title="Download">
          <IconDownload />
        </a>
        <CloseButton onClick={close} />
      </div>
      <div class="lightbox-stage" onClick={(e) => e.target === e.currentTarget && close()}>
        <img src={attachmentURL(a.id)} alt={a.name} width={a.width} height={a.height} />
      </div>
    </Modal>
  );
}
