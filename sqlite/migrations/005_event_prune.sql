-- Pruning the event log finds the recipients of old events by event id
-- instead of scanning the whole table (which stalled the single writer for
-- as long as the log was big). Event ids only grow, so new entries go to the
-- index's last page.
CREATE INDEX event_recipients_event ON event_recipients(event_id);
