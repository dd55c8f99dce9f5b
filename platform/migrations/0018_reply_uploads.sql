-- Large attachments of a Message Center reply, uploaded in pieces (resumably, from any node)
-- before the reply is sent. The reply is a message still uploading (`message_id`); its
-- header is made when the upload begins and kept here with the file key (under the tenant's
-- data key) and the manifest as it will be (under the same key; its attachments' SHA-256 are
-- filled in when the last byte is in). Each piece is stored sealed as it arrives: only
-- ciphertext is ever written.
CREATE TABLE reply_uploads (
    message_id TEXT NOT NULL PRIMARY KEY REFERENCES messages(id),
    writer TEXT NOT NULL,               -- the Message Center account writing the reply
    original_id TEXT NOT NULL REFERENCES messages(id),
    header BLOB NOT NULL,
    sealed_file_key BLOB NOT NULL,
    sealed_manifest BLOB NOT NULL,
    draft_id INTEGER,                   -- the draft it sends, deleted once sent
    created_at INTEGER NOT NULL
);
-- The sealed pieces of each attachment part: plaintext [start, start + len), stored as the
-- part's ciphertext from chunk start / chunk size on.
CREATE TABLE reply_upload_pieces (
    message_id TEXT NOT NULL REFERENCES reply_uploads(message_id),
    part INTEGER NOT NULL,
    start INTEGER NOT NULL,
    len INTEGER NOT NULL,
    blob_name TEXT NOT NULL,
    PRIMARY KEY (message_id, part, start)
);
CREATE INDEX reply_upload_pieces_by_blob ON reply_upload_pieces (blob_name);
