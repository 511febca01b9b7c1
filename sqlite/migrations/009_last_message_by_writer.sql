-- A new message's packed copy on its conversation (006, 007) is written by
-- the send itself, in the one update of the conversation's row that also
-- moves its activity (sqlite/message.go: packMessage, the same packing as
-- the view message_packed), not by a trigger that updated the row a
-- second time: about a tenth of a send's cost. The trigger of updates
-- (edits, deletes, delivery status) stays.
DROP TRIGGER messages_last_insert;
