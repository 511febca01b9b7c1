-- A new message's packed copy is built from the inserted row itself
-- (NEW), not read back from messages through message_packed: the same
-- fields in the same packing (006), one lookup fewer on every send.
DROP TRIGGER messages_last_insert;
CREATE TRIGGER messages_last_insert AFTER INSERT ON messages BEGIN
	UPDATE conversations SET last_seq = NEW.seq, last_message_id = NEW.id, updated_at = NEW.created_at,
		last_message = concat(
			octet_length(NEW.id), ':', NEW.id,
			octet_length(NEW.client_id), ':', NEW.client_id,
			octet_length(NEW.sender), ':', NEW.sender,
			octet_length(NEW.body), ':', NEW.body,
			octet_length(NEW.attachments), ':', NEW.attachments,
			octet_length(NEW.kind), ':', NEW.kind,
			octet_length(NEW.targets), ':', NEW.targets,
			octet_length(NEW.name), ':', NEW.name,
			octet_length(NEW.created_at), ':', NEW.created_at,
			octet_length(ifnull(NEW.edited_at, '')), ':', ifnull(NEW.edited_at, ''),
			octet_length(NEW.deleted), ':', NEW.deleted,
			octet_length(NEW.status), ':', NEW.status,
			octet_length(NEW.error), ':', NEW.error)
	WHERE id = NEW.conversation_id AND last_seq < NEW.seq;
END;
