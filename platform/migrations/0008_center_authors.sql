-- Messages written in the Secure Message Center (a recipient's reply) have no platform user
-- behind them: `messages.sender_id` becomes optional. SQLite cannot drop NOT NULL in place, so
-- the table is rebuilt the documented way (new table, copy, drop, rename; the runner applies
-- migrations with foreign keys off and checks them before commit). PostgreSQL runs
-- 0008_center_authors.postgres.sql instead.
CREATE TABLE messages_rebuilt (
    id               TEXT PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    sender_id        INTEGER REFERENCES users(id),  -- NULL: written in the Message Center
    sender_email     TEXT NOT NULL,
    subject          TEXT NOT NULL,
    slip             TEXT NOT NULL,
    state            TEXT NOT NULL,
    received         INTEGER NOT NULL DEFAULT 0,
    envelope_len     INTEGER,
    file_key_enc     BLOB,
    link_token       TEXT UNIQUE,
    created_at       INTEGER NOT NULL,
    finalised_at     INTEGER,
    expires_at       INTEGER,
    recalled_at      INTEGER
);
INSERT INTO messages_rebuilt SELECT id, tenant_id, sender_id, sender_email, subject, slip, state,
    received, envelope_len, file_key_enc, link_token, created_at, finalised_at, expires_at,
    recalled_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;
CREATE INDEX messages_by_sender ON messages(sender_id, created_at);
