-- Invoice numbers. French law wants one chronological sequence without gaps, never reused (CGI
-- annexe II art. 242 nonies A). Not a SEQUENCE: nextval() is not rolled back, so a failed close would
-- leave a gap. A counter row moved in the close's own transaction gives a gapless sequence (its row
-- lock also serialises concurrent closes), and the trigger refuses any other move of the counter.
-- Months closed before this migration keep the invoice they issued, without a number.
CREATE TABLE IF NOT EXISTS invoice_sequence (
  id          integer PRIMARY KEY CHECK (id = 1),
  last_number bigint NOT NULL
);
INSERT INTO invoice_sequence (id, last_number) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION invoice_sequence_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.last_number = OLD.last_number + 1 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'invoice_sequence only moves forward by one: invoice numbers are never skipped or reused';
END $$;
DROP TRIGGER IF EXISTS invoice_sequence_steps ON invoice_sequence;
CREATE TRIGGER invoice_sequence_steps BEFORE UPDATE OR DELETE ON invoice_sequence
  FOR EACH ROW EXECUTE FUNCTION invoice_sequence_guard();
DROP TRIGGER IF EXISTS invoice_sequence_truncate ON invoice_sequence;
CREATE TRIGGER invoice_sequence_truncate BEFORE TRUNCATE ON invoice_sequence
  FOR EACH STATEMENT EXECUTE FUNCTION invoice_sequence_guard();

ALTER TABLE month_close ADD COLUMN IF NOT EXISTS invoice_number bigint UNIQUE;
