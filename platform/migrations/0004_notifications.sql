-- Outgoing mail (one-time codes, platform-sent notifications, reply notices, password
-- resets), delivered by a worker over SMTP. At least once: a row is claimed with a lease
-- (locked_until); a worker that dies leaves the lease to run out and another takes it over.
-- idempotency_key makes enqueueing the same notification twice a no-op and is the mail's
-- Message-ID, so a copy sent again after a crash is recognisable as the same mail.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER REFERENCES tenants(id),
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT,
    state TEXT NOT NULL,              -- queued | sent | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL, -- ms; also the lease's end while a worker holds it
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
