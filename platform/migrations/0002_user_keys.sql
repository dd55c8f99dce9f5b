-- Users' own public keys (for end-to-end wraps and so senders can open what they sent), and
-- each tenant's compliance key.

CREATE TABLE user_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    key_id       TEXT NOT NULL,           -- hex SHA-256 of the SPKI
    public_spki  BLOB NOT NULL,
    active       INTEGER NOT NULL,        -- 1 for the key to wrap new messages for
    created_at   INTEGER NOT NULL,
    UNIQUE (user_id, key_id)
);
CREATE INDEX user_keys_active ON user_keys(user_id, active);

ALTER TABLE tenants ADD COLUMN compliance_spki BLOB;
