-- Invoice numbers. French law wants one chronological sequence without gaps, never reused (CGI
-- annexe II art. 242 nonies A). A counter row moved in the close's own transaction gives that: a close
-- that fails rolls its number back with it, and the triggers refuse any other move of the counter.
-- Months closed before this migration keep the invoice they issued, without a number.
CREATE TABLE IF NOT EXISTS invoice_sequence (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  last_number INTEGER NOT NULL
);
INSERT INTO invoice_sequence (id, last_number) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM invoice_sequence);

CREATE TRIGGER IF NOT EXISTS invoice_sequence_steps BEFORE UPDATE ON invoice_sequence
WHEN NEW.last_number <> OLD.last_number + 1 OR NEW.id <> OLD.id
BEGIN
  SELECT RAISE(ABORT, 'invoice_sequence only moves forward by one: invoice numbers are never skipped or reused');
END;
CREATE TRIGGER IF NOT EXISTS invoice_sequence_kept BEFORE DELETE ON invoice_sequence
BEGIN
  SELECT RAISE(ABORT, 'invoice_sequence cannot be deleted: invoice numbers are never reused');
END;

ALTER TABLE month_close ADD COLUMN invoice_number INTEGER;
CREATE UNIQUE INDEX IF NOT EXISTS month_close_invoice_number ON month_close (invoice_number);
