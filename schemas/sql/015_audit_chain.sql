-- The audit trail, append-only against every way SQL can rewrite it, and hash-chained (issue 23, part 8).
-- PostgreSQL twin of schemas/sqlite/015_audit_chain.sql.
--
-- Migration 010's row triggers refused UPDATE and DELETE, but TRUNCATE fires no row trigger: it emptied
-- the trail. A statement-level BEFORE TRUNCATE trigger refuses it. Privileges are no defence here: the
-- desk's role owns the table (it ran this migration), and an owner or a superuser may do anything,
-- including drop these triggers. That case is what the hash chain is for: `cdr audit verify` finds it.

-- Each event carries its place in the chain (seq, 1, 2, 3 … without gaps: bigserial event ids have
-- them, a rolled-back transaction burns one), the hash of the event before it and its own
-- (services/store/desk/audit-chain.ts). The UPDATE trigger goes for the length of this migration (one
-- transaction): the step below writes these three columns of the events written before, once.
DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event;
ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS seq bigint;
ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE audit_event ADD COLUMN IF NOT EXISTS hash text;

-- The chain's last link, one row: appends lock it (several desks, several processes: one at a time, so
-- the chain never forks), and a trail cut at its end (the last events deleted) no longer reaches it.
CREATE TABLE IF NOT EXISTS audit_chain_head (
  id   integer PRIMARY KEY CHECK (id = 1),
  seq  bigint NOT NULL,
  hash text NOT NULL
);

-- step: chain-existing-audit-events

CREATE UNIQUE INDEX IF NOT EXISTS audit_event_seq ON audit_event (seq);

CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

-- A new event must extend the chain. The head is locked here too, so that an INSERT typed by hand
-- waits for the desk's appends like they wait for each other.
CREATE OR REPLACE FUNCTION audit_event_extends_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain_head%ROWTYPE;
BEGIN
  SELECT * INTO head FROM audit_chain_head WHERE id = 1 FOR UPDATE;
  IF NEW.seq IS DISTINCT FROM head.seq + 1 OR NEW.prev_hash IS DISTINCT FROM head.hash
     OR NEW.hash IS NULL OR length(NEW.hash) <> 64 THEN
    RAISE EXCEPTION 'audit_event is append-only: a new event must extend the chain (seq = the head''s seq + 1, prev_hash = the head''s hash, a SHA-256 hash)';
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS audit_event_insert_extends_chain ON audit_event;
CREATE TRIGGER audit_event_insert_extends_chain BEFORE INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_extends_chain();

CREATE OR REPLACE FUNCTION audit_event_moves_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS audit_event_moves_head ON audit_event;
CREATE TRIGGER audit_event_moves_head AFTER INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_moves_head();

-- The head moves one event forward, onto the event appended, or not at all (an append's claim).
CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND (
       (NEW.seq = OLD.seq AND NEW.hash = OLD.hash)
    OR (NEW.seq = OLD.seq + 1 AND NEW.hash = (SELECT hash FROM audit_event WHERE seq = NEW.seq))) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_head only moves forward, onto the event appended after it: % refused', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_chain_head;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head;
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_guard();
