import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { composerFocus, focusJustAsked, send } from "../actions";
import { size } from "../format";
import { sendTyping } from "../live";
import * as S from "../store";
import type { Conversation } from "../types";
import { IconClose, IconFile, IconPaperclip, IconSend } from "./icons";

const coarse = window.matchMedia("(pointer: coarse)");
const MAX_BODY = 10_000;
const MAX_FILES = 10;

/** Unsent text per conversation, kept while switching between them. */
const drafts = new Map<string, string>();

interface Staged {
  file: File;
  preview?: string;
}

export function Composer({ c, onFilesRef }: { c: Conversation; onFilesRef: RefObject<(files: File[]) => void> }) {
  const [text, setText] = useState(drafts.get(c.id) ?? "");
  const [files, setFiles] = useState<Staged[]>([]);
  const [notice, setNotice] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const focusSeq = composerFocus.value;

  const mounted = useRef(false);
  useEffect(() => {
    // Opening a conversation puts the cursor in the composer, except on
    // touch screens, where that would pop up the keyboard over the history;
    // Reply (a focus request) always does.
    const first = !mounted.current;
    mounted.current = true;
    if (first && coarse.matches && !focusJustAsked()) return;
    input.current?.focus({ preventScroll: true });
  }, [focusSeq]);

  const staged = useRef(files);
  staged.current = files;
  useEffect(() => () => staged.current.forEach((f) => f.preview && URL.revokeObjectURL(f.preview)), []);

  const addFiles = (list: File[]) => {
    if (list.length === 0) return;
    const room = MAX_FILES - files.length;
    setNotice(list.length > room ? `You can send up to ${MAX_FILES} files in one message.` : "");
    const add = list.slice(0, Math.max(0, room)).map((file) => ({
      file,
      preview: /^image\/(png|jpeg|gif|webp)$/.test(file.type) ? URL.createObjectURL(file) : undefined,
    }));
    setFiles([...files, ...add]);
    input.current?.focus();
  };
  onFilesRef.current = addFiles;

  const removeFile = (i: number) =>
    setFiles((cur) => {
      const f = cur[i];
      if (f?.preview) URL.revokeObjectURL(f.preview);
      return cur.filter((_, j) => j !== i);
    });

  const update = (value: string) => {
    setText(value);
    drafts.set(c.id, value);
    if (value.trim()) sendTyping(c.id);
  };

  const body = text.trim();
  const tooLong = text.length > MAX_BODY;
  const canSend = (body.length > 0 || files.length > 0) && !tooLong;

  const submit = () => {
    if (!canSend) return;
    send(
      c.id,
      body,
      files.map((f) => f.file),
    );
    files.forEach((f) => f.preview && URL.revokeObjectURL(f.preview));
    setFiles([]);
    setNotice("");
    setText("");
    drafts.delete(c.id);
    input.current?.focus();
  };

  const lines = Math.min(8, Math.max(1, text.split("\n").length));
  const placeholder = `Message ${S.titleOf(c)}`;

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {files.length > 0 && (
        <ul class="staged" aria-label="Files to send">
          {files.map((f, i) => (
            <li class="staged-file" key={i}>
              {f.preview ? (
                <img src={f.preview} alt="" />
              ) : (
                <span class="file-icon" aria-hidden="true">
                  <IconFile />
                </span>
              )}
              <span class="file-text">
                <span class="file-name">{f.file.name}</span>
                <span class="file-size">{size(f.file.size)}</span>
              </span>
              <button type="button" class="icon-button icon-small" aria-label={`Remove ${f.file.name}`} onClick={() => removeFile(i)}>
                <IconClose />
              </button>
            </li>
          ))}
        </ul>
      )}
      {(notice || tooLong) && (
        <p class="composer-notice" role="status">
          {tooLong ? `${text.length.toLocaleString()} characters: the limit is ${MAX_BODY.toLocaleString()}.` : notice}
        </p>
      )}
      <div class="composer-row">
        <button
          type="button"
          class="icon-button"
          aria-label="Attach files"
          title="Attach files"
          onClick={() => picker.current?.click()}
        >
          <IconPaperclip />
        </button>
        <input
          ref={picker}
          type="file"
          multiple
          class="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          data-role="attach"
          onChange={(e) => {
            addFiles([...(e.currentTarget.files ?? [])]);
            e.currentTarget.value = "";
          }}
        />
        <textarea
          ref={input}
          class="composer-input"
          rows={lines}
          value={text}
          placeholder={placeholder}
          aria-label={placeholder}
          aria-describedby="composer-help"
          onInput={(e) => update(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
          onPaste={(e) => {
            const pasted = [...(e.clipboardData?.files ?? [])];
            if (pasted.length > 0) {
              e.preventDefault();
              addFiles(pasted);
            }
          }}
        />
        <button type="submit" class="send-button" aria-label="Send" title="Send" disabled={!canSend}>
          <IconSend />
        </button>
      </div>
      <p id="composer-help" class="visually-hidden">
        Enter sends, Shift+Enter starts a new line.
      </p>
    </form>
  );
}
