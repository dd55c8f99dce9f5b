-- Failures and lockouts per purpose and address, kept for every address asked about — known
-- or not, so that answers tell no one which addresses have accounts — with the lockouts in a
-- row, which make each lock longer than the one before.
CREATE TABLE lockouts (
    scope        TEXT NOT NULL,             -- 'center-sign-in', 'unlock:<message id>'
    subject      TEXT NOT NULL,             -- the address, lowercase
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
);
-- How a web session began: 'code' (a mailed one-time code proved the mailbox) or 'password'.
ALTER TABLE web_sessions ADD COLUMN proof TEXT NOT NULL DEFAULT 'password';
-- Attachments served to a recipient, once per recipient and attachment (any bytes of it).
CREATE TABLE downloads (
    message_id TEXT NOT NULL REFERENCES messages(id),
    email      TEXT NOT NULL,
    part       INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (message_id, email, part)
);
