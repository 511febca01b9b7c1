// Wire types of the REST API and the event stream (docs/openapi.yaml).

export type Color = "red" | "green" | "blue" | "gray";

export interface Presence {
  extension: string;
  color: Color;
  dnd: boolean;
  message: string;
  until?: string;
}

export interface Me {
  extension: string;
  domain: string;
  name: string;
  level: string;
  texting_numbers: string[];
}

export interface Contact {
  extension: string;
  name: string;
  presence: Presence;
}

export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  width?: number;
  height?: number;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  client_id: string;
  sender: string;
  body: string;
  attachments: Attachment[];
  kind: string;
  targets?: string[];
  name?: string;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  status?: string;
  error?: string;
}

export interface Conversation {
  id: string;
  kind: "chat" | "sms";
  name: string;
  direct: boolean;
  members: string[];
  read: Record<string, number>;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_seq: number;
  last_message: Message | null;
  unread: number;
  last_read_seq: number;
  /** sms: my domain's texting number. */
  texting_number?: string;
  /** sms: the external phone numbers (E.164). */
  external?: string[];
}

/** A frame of the events WebSocket. */
export interface Frame {
  type: string;
  cursor?: string;
  data: unknown;
}

/** A file being sent with a message that is not acknowledged yet. */
export interface Upload {
  name: string;
  size: number;
  type: string;
  /** A blob: URL of the local file, for pictures. */
  preview?: string;
  /** 0..1 */
  progress: number;
}

/** A message as the portal shows it: from the server, or still being sent. */
export interface ChatMessage extends Message {
  local?: {
    state: "sending" | "failed";
    error?: string;
    uploads: Upload[];
  };
}
