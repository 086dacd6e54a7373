-- When the desk first saw an alert (updated_at moves with every update of it).
ALTER TABLE alert ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now()
