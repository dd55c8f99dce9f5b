-- The sweeper asks whether any segment row names a blob it found in the store (an orphan
-- otherwise): one indexed lookup per new blob instead of a scan of every segment.
CREATE INDEX envelope_segments_blob ON envelope_segments (blob_name);
