-- The conversation list reads each conversation's last message from the
-- conversation's own row instead of seeking it among all the messages (a
-- page of its own per conversation, scattered over the whole file): a
-- copy, packed into one column, kept by the database itself so that no
-- write can leave it stale (sends, edits, deletes, SMS delivery status).
--
-- message_packed defines the packing once: the fields id, client_id,
-- sender, body, attachments, kind, targets, name, created_at, edited_at
-- ('' when never edited), deleted, status and error, in this order, each
-- as its length in bytes, ':' and its text (sqlite/message.go unpacks it).
CREATE VIEW message_packed AS SELECT conversation_id, seq, concat(
	octet_length(id), ':', id,
	octet_length(client_id), ':', client_id,
	octet_length(sender), ':', sender,
	octet_length(body), ':', body,
	octet_length(attachments), ':', attachments,
	octet_length(kind), ':', kind,
	octet_length(targets), ':', targets,
	octet_length(name), ':', name,
	octet_length(created_at), ':', created_at,
	octet_length(ifnull(edited_at, '')), ':', ifnull(edited_at, ''),
	octet_length(deleted), ':', deleted,
	octet_length(status), ':', status,
	octet_length(error), ':', error) AS packed
FROM messages;

-- last_message is the packed last message, '' while there is none.
ALTER TABLE conversations ADD COLUMN last_message TEXT NOT NULL DEFAULT '';

-- A new message is the conversation's last: it moves last_seq (from which
-- the next seq is taken), the last message and updated_at.
CREATE TRIGGER messages_last_insert AFTER INSERT ON messages BEGIN
	UPDATE conversations SET last_seq = NEW.seq, last_message_id = NEW.id, updated_at = NEW.created_at,
		last_message = (SELECT packed FROM message_packed WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq)
	WHERE id = NEW.conversation_id AND last_seq < NEW.seq;
END;

-- A change of the last message (an edit, a delete, a delivery status)
-- changes the copy.
CREATE TRIGGER messages_last_update AFTER UPDATE ON messages BEGIN
	UPDATE conversations SET
		last_message = (SELECT packed FROM message_packed WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq)
	WHERE id = NEW.conversation_id AND last_seq = NEW.seq;
END;

UPDATE conversations SET last_message = ifnull(
	(SELECT packed FROM message_packed WHERE conversation_id = conversations.id AND seq = conversations.last_seq), '')
WHERE last_seq > 0;
