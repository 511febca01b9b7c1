-- Fewer pages per message (docs/PERFORMANCE.md, round 4).
--
-- 1. An event for every member of a conversation (message.created,
--    message.updated) is no longer copied into event_recipients, one row
--    and one index entry per member: it is marked to_members and found by
--    its conversation. A resuming client reads its own event_recipients
--    rows (events to some members only: conversation.*) and the to_members
--    events of the conversations it is a member of, after the event it
--    joined them at (members.joined_event), so that a member added later
--    does not receive what came before.
ALTER TABLE events ADD COLUMN to_members INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_conversation ON events(conversation_id, id) WHERE to_members = 1;
ALTER TABLE members ADD COLUMN joined_event INTEGER NOT NULL DEFAULT 0;

-- 2. A message no longer moves every member's entry in members_list (one
--    entry per member, each on a page of its own, keyed by extension): it
--    moves the conversation's activity_at, and the list orders by the
--    later of the two (a member's own activity_at is when it joined).
ALTER TABLE conversations ADD COLUMN activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET activity_at = ifnull((SELECT max(activity_at) FROM members WHERE conversation_id = conversations.id), 0);

-- 3. A member removed from a conversation keeps the to_members events of
--    its time as a member (joined_event < id <= left_event), for a resume
--    from before it left.
CREATE TABLE former_members (
	domain          TEXT NOT NULL,
	extension       TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	joined_event    INTEGER NOT NULL,
	left_event      INTEGER NOT NULL,
	PRIMARY KEY (domain, extension, conversation_id, left_event)
) WITHOUT ROWID;
CREATE INDEX former_members_left ON former_members(left_event);
