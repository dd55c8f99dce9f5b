-- Small upload segments are kept in the database with their row (`data`) instead of as a blob
-- (`blob_name`): each segment has exactly one of the two. SQLite cannot drop NOT NULL in
-- place, so the table is rebuilt as 0008 did; PostgreSQL runs
-- 0012_inline_segments.postgres.sql instead.
CREATE TABLE envelope_segments_rebuilt (
    message_id  TEXT NOT NULL REFERENCES messages(id),
    seq         INTEGER NOT NULL,
    start       INTEGER NOT NULL,         -- offset of the segment in the envelope
    len         INTEGER NOT NULL,
    blob_name   TEXT,                     -- random; never derived from the message id
    data        BLOB,                     -- the segment itself, when small
    PRIMARY KEY (message_id, seq),
    CHECK ((blob_name IS NULL) <> (data IS NULL))
);
INSERT INTO envelope_segments_rebuilt (message_id, seq, start, len, blob_name)
    SELECT message_id, seq, start, len, blob_name FROM envelope_segments;
DROP TABLE envelope_segments;
ALTER TABLE envelope_segments_rebuilt RENAME TO envelope_segments;
