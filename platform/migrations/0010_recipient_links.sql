-- Personal links: when the platform sends the notifications (tenant mode "platform sends"),
-- each recipient's mail carries its own opaque link to the message, so every notice is
-- tracked per recipient and no two recipients share a link.
CREATE TABLE recipient_links (
    token       TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages(id),
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX recipient_links_by_message ON recipient_links(message_id);
