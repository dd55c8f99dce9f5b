-- Messages written in the Secure Message Center (a recipient's reply) have no platform user
-- behind them: `messages.sender_id` becomes optional (see 0008_center_authors.sql).
ALTER TABLE messages ALTER COLUMN sender_id DROP NOT NULL;
