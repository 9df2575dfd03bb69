-- Ticket e-mail both ways: the token a ticket's reply-to address carries,
-- the Message-ID of every message mailed or received about it (so answers
-- thread by In-Reply-To and References), and the headers an outbox e-mail
-- goes out with.
ALTER TABLE support_tickets ADD COLUMN mail_token TEXT;
CREATE UNIQUE INDEX support_tickets_mail_token ON support_tickets (mail_token);

CREATE TABLE support_ticket_messages (
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, message_id)
);
CREATE INDEX support_ticket_messages_by_id ON support_ticket_messages (message_id);

ALTER TABLE support_outbox ADD COLUMN headers TEXT;
