-- The Message Center's mailboxes and conversations.
-- A reply points at the message it answers.
ALTER TABLE messages ADD COLUMN in_reply_to TEXT REFERENCES messages(id);
-- An unlock code the sender passes on out of band (argon2id), asked after the one-time code.
ALTER TABLE messages ADD COLUMN unlock_hash TEXT;
-- What one person did with one message in the Center: its folder ('inbox', 'archive' or
-- 'deleted'; no row means the default: inbox for a recipient, sent for the sender), whether
-- the unlock code was given, and wrong unlock codes (locked after a few).
CREATE TABLE mailbox_entries (
    message_id       TEXT NOT NULL REFERENCES messages(id),
    email            TEXT NOT NULL,
    folder           TEXT NOT NULL DEFAULT 'inbox',
    unlocked_at      INTEGER,
    unlock_failures  INTEGER NOT NULL DEFAULT 0,
    unlock_locked_until INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (message_id, email)
);
CREATE INDEX mailbox_by_email ON mailbox_entries(email, folder);
CREATE INDEX messages_by_sender_email ON messages(sender_email, created_at);
-- Drafts of replies, sealed under the tenant's data key of the message they answer.
CREATE TABLE drafts (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL,
    in_reply_to TEXT NOT NULL REFERENCES messages(id),
    sealed      BLOB NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX drafts_by_email ON drafts(email, updated_at);
-- One-time codes now prove a mailbox for a purpose ('message:<id>' to open a message,
-- 'password-reset'), not only for a message. Outstanding codes (ten minutes' worth) are
-- dropped: their recipients ask for a new one.
DROP TABLE one_time_codes;
CREATE TABLE one_time_codes (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    email TEXT NOT NULL,
    code_hash BLOB NOT NULL,          -- SHA-256 of salt || code
    salt BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX one_time_codes_lookup ON one_time_codes (scope, email, created_at);
