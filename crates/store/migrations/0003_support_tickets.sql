-- Links from tickets to the other areas (the release that fixed a ticket).
CREATE TABLE support_ticket_links (
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, kind, target_id)
);

CREATE INDEX support_ticket_links_target ON support_ticket_links (kind, target_id);

-- SLA warnings and breaches already announced, one row per ticket, target
-- (first_response or resolution) and level (at_risk or breached), so each is
-- told exactly once however often the watch runs.
CREATE TABLE support_sla_alerts (
    ticket_id TEXT NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    level TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, target, level)
);

CREATE INDEX support_tickets_open ON support_tickets (status, resolution_due);
