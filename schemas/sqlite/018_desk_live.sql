-- The desk's live updates (issue 20): `cdr serve` looks every half second for alerts changed since the
-- last look (by updated_at) once the database's data_version says another process committed; this
-- index keeps that look (and the page's fallback poll) off the whole table during a long `cdr rate`.
CREATE INDEX IF NOT EXISTS alert_updated_at ON alert (updated_at);
