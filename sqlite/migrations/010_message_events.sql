-- A message's message.created to every member of its conversation has no
-- row in the event log: its id is on the message (event_id), and a
-- resuming client reads the event from the message itself, as the message
-- is now (sqlite/event.go: messagesBetween). The event's row and its entry
-- in events_conversation were a fifth of a send's work in the store and a
-- page of its log (docs/PERFORMANCE.md, sixth session). Within a
-- conversation event_id grows with seq; the messages from before this
-- migration keep 0, and their events stay in the log. Event ids are still
-- taken from the log's sequence (sqlite_sequence), which the writer moves
-- past the ids it handed out before each commit.
ALTER TABLE messages ADD COLUMN event_id INTEGER NOT NULL DEFAULT 0;

-- The event id of the conversation's last message: a resume looks into
-- the conversations with news only.
ALTER TABLE conversations ADD COLUMN last_event INTEGER NOT NULL DEFAULT 0;

-- The sequence has its row from the start, so that the writer can move it
-- with an UPDATE.
INSERT INTO sqlite_sequence (name, seq) SELECT 'events', 0
	WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
