-- Sealpost platform schema, version 1. Written once, in SQLite's dialect; src/db.rs
-- (for_engine) translates it for PostgreSQL, so keep to its subset: ids as "INTEGER PRIMARY
-- KEY", integers as INTEGER, binary as BLOB. Times are Unix milliseconds.

CREATE TABLE tenants (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    data_key_enc  BLOB NOT NULL,          -- the tenant's data key, sealed under the master key
    policy        TEXT NOT NULL,          -- JSON policy document
    created_at    INTEGER NOT NULL
);

CREATE TABLE tenant_domains (
    domain     TEXT PRIMARY KEY,          -- lowercase mail domain
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id)
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    email          TEXT NOT NULL UNIQUE,  -- lowercase
    role           TEXT NOT NULL,         -- 'sender' | 'admin'
    password_hash  TEXT NOT NULL,         -- argon2id PHC string
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE device_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token_hash    BLOB NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE platform_keys (
    id           INTEGER PRIMARY KEY,
    key_id       TEXT NOT NULL UNIQUE,    -- hex SHA-256 of the SPKI
    public_spki  BLOB NOT NULL,
    private_enc  BLOB NOT NULL,           -- PKCS#8, sealed under the master key
    active       INTEGER NOT NULL,        -- 1 for the key new envelopes are wrapped for
    created_at   INTEGER NOT NULL
);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,    -- client-chosen UUID
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    sender_id        INTEGER NOT NULL REFERENCES users(id),
    sender_email     TEXT NOT NULL,
    subject          TEXT NOT NULL,
    slip             TEXT NOT NULL,       -- JSON delivery slip as created
    state            TEXT NOT NULL,       -- 'uploading' | 'final'
    received         INTEGER NOT NULL DEFAULT 0,  -- envelope bytes durably stored
    envelope_len     INTEGER,             -- known once the header has arrived
    file_key_enc     BLOB,                -- file key sealed under the tenant data key
    link_token       TEXT UNIQUE,         -- opaque id in the message link
    created_at       INTEGER NOT NULL,
    finalised_at     INTEGER,
    expires_at       INTEGER,
    recalled_at      INTEGER
);
CREATE INDEX messages_by_sender ON messages(sender_id, created_at);

CREATE TABLE message_recipients (
    message_id  TEXT NOT NULL REFERENCES messages(id),
    email       TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- 'to' | 'cc' | 'bcc'
    PRIMARY KEY (message_id, email)
);
CREATE INDEX recipients_by_email ON message_recipients(email);

CREATE TABLE envelope_segments (
    message_id  TEXT NOT NULL REFERENCES messages(id),
    seq         INTEGER NOT NULL,
    start       INTEGER NOT NULL,         -- offset of the segment in the envelope
    len         INTEGER NOT NULL,
    blob_name   TEXT NOT NULL,            -- random; never derived from the message id
    PRIMARY KEY (message_id, seq)
);

CREATE TABLE tracking_events (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages(id),
    recipient   TEXT,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX events_by_message ON tracking_events(message_id, id);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY NOT NULL,
    at         INTEGER NOT NULL,
    tenant_id  INTEGER,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
);
