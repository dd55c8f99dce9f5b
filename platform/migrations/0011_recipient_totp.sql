-- TOTP for Message Center accounts, as for platform users (0003).
ALTER TABLE recipient_accounts ADD COLUMN totp_secret_enc BLOB;            -- sealed under the master key
ALTER TABLE recipient_accounts ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipient_accounts ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0; -- replay protection
