-- The Secure Message Center's first contact and sessions.
-- One-time codes prove a recipient's mailbox: 6 digits, short-lived, single use, a few tries.
CREATE TABLE one_time_codes (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    code_hash BLOB NOT NULL,          -- SHA-256 of salt || code
    salt BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX one_time_codes_lookup ON one_time_codes (message_id, email, created_at);
-- Browser sessions of recipients (the cookie carries a random token; only its hash is kept).
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
