-- The caller ID a switch presented before the 089B rewrite (R-CLI-089B-REWRITE), kept beside the one billed.
ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS caller_original text NOT NULL DEFAULT ''
