-- Optional TOTP second factor.
ALTER TABLE users ADD COLUMN totp_secret_enc BLOB;            -- sealed under the master key
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0; -- replay protection
