-- The audit trail, append-only against every way SQL can rewrite it, and hash-chained (issue 23, part 8).
-- SQLite twin of schemas/sql/015_audit_chain.sql.
--
-- Migration 010 refused UPDATE and DELETE, but `INSERT OR REPLACE` / `REPLACE INTO` an event's id
-- deletes the old row as part of resolving the conflict, and that deletion fires no DELETE trigger
-- (recursive_triggers is off): the event was rewritten in place. What stops it is a BEFORE INSERT
-- trigger, which runs before the conflict is resolved and refuses a row whose event_id or seq is
-- taken. (An upsert, ON CONFLICT DO UPDATE, meets the same trigger first and the UPDATE one after.)

-- Each event carries its place in the chain (seq, 1, 2, 3 … without gaps: event_id may have them),
-- the hash of the event before it and its own (services/store/desk/audit-chain.ts).
-- The UPDATE trigger goes for the length of this migration: the step below writes these three
-- columns of the events written before the chain existed, once. It is created again further down.
DROP TRIGGER IF EXISTS audit_event_no_update;
ALTER TABLE audit_event ADD COLUMN seq INTEGER;
ALTER TABLE audit_event ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_event ADD COLUMN hash TEXT;

-- The chain's last link, one row: appends claim it (serialising them), and a trail cut at its end
-- (the last events deleted) no longer reaches it.
CREATE TABLE IF NOT EXISTS audit_chain_head (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT NOT NULL
);

-- step: chain-existing-audit-events

CREATE UNIQUE INDEX IF NOT EXISTS audit_event_seq ON audit_event (seq);

CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused');
END;

-- One trigger, its checks in order, so that each attack gets the message that names it.
CREATE TRIGGER IF NOT EXISTS audit_event_insert_extends_chain BEFORE INSERT ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: an event with this event_id or seq exists (INSERT OR REPLACE, REPLACE INTO and upserts would rewrite it)')
   WHERE EXISTS (SELECT 1 FROM audit_event WHERE event_id = NEW.event_id OR seq = NEW.seq);
  SELECT RAISE(ABORT, 'audit_event is append-only: a new event must extend the chain (seq = the head''s seq + 1, prev_hash = the head''s hash, a SHA-256 hash)')
   WHERE NEW.seq IS NOT (SELECT seq + 1 FROM audit_chain_head WHERE id = 1)
      OR NEW.prev_hash IS NOT (SELECT hash FROM audit_chain_head WHERE id = 1)
      OR NEW.hash IS NULL OR length(NEW.hash) <> 64;
END;

CREATE TRIGGER IF NOT EXISTS audit_event_moves_head AFTER INSERT ON audit_event
BEGIN
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;

-- The head moves one event forward, onto the event appended, or not at all (an append's claim).
CREATE TRIGGER IF NOT EXISTS audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head
WHEN NOT (NEW.id IS OLD.id AND (
       (NEW.seq IS OLD.seq AND NEW.hash IS OLD.hash)
    OR (NEW.seq IS OLD.seq + 1 AND NEW.hash IS (SELECT hash FROM audit_event WHERE seq = NEW.seq))))
BEGIN
  SELECT RAISE(ABORT, 'audit_chain_head only moves forward, onto the event appended after it');
END;
CREATE TRIGGER IF NOT EXISTS audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
BEGIN
  SELECT RAISE(ABORT, 'audit_chain_head is append-only: DELETE refused');
END;
CREATE TRIGGER IF NOT EXISTS audit_chain_head_one_row BEFORE INSERT ON audit_chain_head
WHEN EXISTS (SELECT 1 FROM audit_chain_head)
BEGIN
  SELECT RAISE(ABORT, 'audit_chain_head has one row: INSERT (OR REPLACE) refused');
END;
