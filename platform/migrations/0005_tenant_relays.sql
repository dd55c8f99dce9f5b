-- A tenant's own SMTP relay for the platform's mail to and for its people (instead of the
-- global one in the settings). The password is sealed under the tenant's data key.
CREATE TABLE tenant_relays (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL UNIQUE REFERENCES tenants(id),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL,           -- starttls | tls | none
    username TEXT,
    password_enc BLOB,
    from_address TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
