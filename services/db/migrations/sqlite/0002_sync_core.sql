-- The sync core (every entity): blocked records, re-checks, the notification outbox, the payload
-- of a create intent. Keep in lockstep with postgres/0002_sync_core.sql.

-- A record waiting for its EspoCRM content to change (DECISIONS 26): the reason (its status),
-- the content fingerprint at the block, and the `modifiedAt` EspoCRM returned for the blocking
-- write (the cron selects a blocked record only when its `modifiedAt` differs from this one).
CREATE TABLE sync_blocks (
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    modified_at TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);

-- When a parked record was last re-checked (a party deleted in Advoware, DECISIONS 28).
CREATE TABLE sync_rechecks (
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);

-- The values actually POSTed: recovery after a lost POST answer searches with them (DECISIONS 23).
ALTER TABLE party_create_intents ADD COLUMN payload TEXT;

-- Outbox: a notification is recorded (recipient, message, data) with the sync state it belongs
-- to, then sent; one recorded but not sent (a crash, EspoCRM down) is sent by a later run.
ALTER TABLE notifications_sent ADD COLUMN recipient TEXT;
ALTER TABLE notifications_sent ADD COLUMN message TEXT;
ALTER TABLE notifications_sent ADD COLUMN data TEXT;
ALTER TABLE notifications_sent ADD COLUMN sent_at TEXT;
UPDATE notifications_sent SET sent_at = created_at;
CREATE INDEX notifications_outbox_idx ON notifications_sent (entity_type, entity_id)
    WHERE sent_at IS NULL AND message IS NOT NULL;
