-- Small upload segments are kept in the database with their row (`data`) instead of as a blob
-- (`blob_name`): each segment has exactly one of the two.
ALTER TABLE envelope_segments ALTER COLUMN blob_name DROP NOT NULL;
ALTER TABLE envelope_segments ADD COLUMN data BYTEA;
ALTER TABLE envelope_segments ADD CONSTRAINT envelope_segments_one_place
    CHECK ((blob_name IS NULL) <> (data IS NULL));
