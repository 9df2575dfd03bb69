-- How far each node's filer has read its spool: a node acknowledges error
-- events once they are durable in the spool in its data directory, and
-- files them into issues later, in large batches. The position moves in
-- the same transaction that files the events, so a restart files each
-- acknowledged event exactly once.
CREATE TABLE spool_positions (
    node TEXT NOT NULL,
    stream TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (node, stream)
);
