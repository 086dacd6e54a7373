-- Which store a run folder comes from: each run folder under --out carries this id, so that a run of
-- another data directory writing to the same --out is refused rather than replacing a folder of this one.
CREATE TABLE IF NOT EXISTS store_identity (id TEXT NOT NULL);
INSERT INTO store_identity (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM store_identity);
