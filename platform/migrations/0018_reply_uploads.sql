-- Large attachments of a Message Center reply, uploaded in pieces (resumably, from any node)
-- before the reply is sent. The reply is a message still uploading (`message_id`); its
-- header is made when the upload begins and kept here with its file key and the manifest as
-- it will be (both under the tenant's data key; the attachments' SHA-256 are filled in at
-- send). Pieces are stored sealed under a key of the upload's own (`sealed_staging_key`,
-- random nonces), and sealed into the envelope, under the file key, once, at send.
CREATE TABLE reply_uploads (
    message_id TEXT NOT NULL PRIMARY KEY REFERENCES messages(id),
    writer TEXT NOT NULL,               -- the Message Center account writing the reply
    slot INTEGER NOT NULL,              -- 0 or 1: at most two uploads in flight per writer
    original_id TEXT NOT NULL REFERENCES messages(id),
    declared_size INTEGER NOT NULL,     -- the reply's envelope size: counted while it uploads
    header BLOB NOT NULL,
    sealed_file_key BLOB NOT NULL,
    sealed_staging_key BLOB NOT NULL,
    sealed_manifest BLOB NOT NULL,
    draft_id INTEGER,                   -- the draft it sends, deleted once sent
    sending_until INTEGER,              -- a send in progress holds the upload until then (ms)
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,        -- the last piece (the abandoned-upload sweep waits on it)
    UNIQUE (writer, slot)
);
-- The staged pieces of each attachment part: plaintext [start, start + len), each chunk
-- sealed under the upload's staging key.
CREATE TABLE reply_upload_pieces (
    message_id TEXT NOT NULL REFERENCES reply_uploads(message_id),
    part INTEGER NOT NULL,
    start INTEGER NOT NULL,
    len INTEGER NOT NULL,
    blob_name TEXT NOT NULL,
    PRIMARY KEY (message_id, part, start)
);
CREATE INDEX reply_upload_pieces_by_blob ON reply_upload_pieces (blob_name);
