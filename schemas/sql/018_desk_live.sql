-- The desk's live updates (issue 20): a changed alert and a new audit event are announced on the channel
-- cdr_desk_change by the database itself, whoever wrote them (a desk, the streaming workers, a CLI), so
-- every `cdr serve` listening there can tell its open pages within moments. The payload names the row,
-- never its content (a NOTIFY payload is visible to any session that listens).
CREATE OR REPLACE FUNCTION cdr_desk_notify_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cdr_desk_change', json_build_object('type', 'alert', 'alert_id', NEW.alert_id)::text);
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS alert_notify_desk ON alert;
CREATE TRIGGER alert_notify_desk AFTER INSERT OR UPDATE ON alert
  FOR EACH ROW EXECUTE FUNCTION cdr_desk_notify_alert();

CREATE OR REPLACE FUNCTION cdr_desk_notify_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cdr_desk_change', json_build_object('type', 'audit', 'subject_type', NEW.subject_type,
    'subject_id', NEW.subject_id, 'action', NEW.action)::text);
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS audit_event_notify_desk ON audit_event;
CREATE TRIGGER audit_event_notify_desk AFTER INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION cdr_desk_notify_audit();

-- The page's fallback poll (alerts changed after an instant) finds them without reading the table.
CREATE INDEX IF NOT EXISTS alert_updated_at ON alert (updated_at);
