-- First tables of the service database (Beteiligte sync). Keep in lockstep with postgres/0001_init.sql.
-- Timestamps are fixed-width ISO-8601 UTC text (YYYY-MM-DDTHH:MM:SS.ffffff+00:00), so text order
-- is time order; JSON columns are TEXT.

-- What the service last synced per EspoCRM party (SYNC_RULES §1 "Sync state").
CREATE TABLE party_sync_state (
    espo_id         TEXT PRIMARY KEY,
    betnr           INTEGER NOT NULL,
    snapshot        TEXT NOT NULL,
    -- sorted field names of the last round-trip mismatch; [] when the last write stuck
    mismatch_fields TEXT NOT NULL DEFAULT '[]',
    updated_at      TEXT NOT NULL
);
CREATE INDEX party_sync_state_betnr_idx ON party_sync_state (betnr);

-- Create intents: written before the Advoware POST, betnr right after it (idempotent create).
CREATE TABLE party_create_intents (
    espo_id     TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    betnr       INTEGER,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Audit trail of sync decisions; bounded by a retention period (purge by created_at).
-- AUTOINCREMENT: ids are never reused after a purge, so "newest first" stays unambiguous.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    trace_id    TEXT,
    trigger     TEXT,
    action      TEXT NOT NULL,
    result      TEXT NOT NULL,
    decision    TEXT NOT NULL,
    api_calls   TEXT NOT NULL,
    error       TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, created_at DESC, id DESC);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);

-- Notifications already sent, so each conflict is notified exactly once.
CREATE TABLE notifications_sent (
    dedupe_key  TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX notifications_sent_entity_idx ON notifications_sent (entity_type, entity_id);
