-- The admin console. A member can be disabled, keeping their history; administrators and
-- compliance officers sign in to the console with a browser session of their own.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
CREATE TABLE console_sessions (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,    -- SHA-256 of the cookie's token
    user_id INTEGER NOT NULL REFERENCES users(id),
    enrolled INTEGER NOT NULL,          -- 0: the session may only set up the second factor
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
-- Links an administrator sends a member to choose their password (a new member, or one who
-- forgot it): single use, a day long, only the SHA-256 of the link's token kept.
CREATE TABLE password_links (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
-- The platform's operators: members who also run the platform across organisations
-- (create organisations and their domains, see each one's use). The first administrator is
-- one; `sealpost-platform admin operator` makes more.
ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;
-- An organisation's look: the name, colour and logo recipients see on its messages' pages,
-- in its stubs and on the platform's mail for it.
CREATE TABLE tenant_branding (
    tenant_id INTEGER NOT NULL PRIMARY KEY REFERENCES tenants(id),
    display_name TEXT NOT NULL,
    colour TEXT NOT NULL,               -- #rrggbb, dark enough for white text
    logo BLOB,                          -- PNG or JPEG, at most 100 KiB
    logo_type TEXT,
    updated_at INTEGER NOT NULL
);
-- The time zone a Message Center account reads dates in (IANA name; none: UTC).
ALTER TABLE recipient_accounts ADD COLUMN time_zone TEXT;
-- The name a member is shown by, beside their address (set in the console).
ALTER TABLE users ADD COLUMN display_name TEXT;
