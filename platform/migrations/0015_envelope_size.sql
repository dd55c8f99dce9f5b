-- One name for the sealed envelope's byte count everywhere (API, helper, docs): envelope_size.
ALTER TABLE messages RENAME COLUMN envelope_len TO envelope_size;
