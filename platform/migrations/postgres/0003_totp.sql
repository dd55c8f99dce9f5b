-- Optional TOTP second factor. Keep in step with ../sqlite/0003_totp.sql.
ALTER TABLE users ADD COLUMN totp_secret_enc BYTEA;            -- sealed under the master key
ALTER TABLE users ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0; -- replay protection
