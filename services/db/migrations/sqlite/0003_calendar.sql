-- Calendar sync state (SYNC_RULES §5). Keep in lockstep with postgres/0003_calendar.sql.
-- Timestamps are fixed-width ISO-8601 UTC text (see 0001_init.sql), booleans 0/1.

-- One row per appointment the service maps: an Advoware Termin (frNr) and the event of the
-- employee's Google calendar, who owns it, and what both sides looked like when last synced.
CREATE TABLE calendar_mappings (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    kuerzel              TEXT NOT NULL,
    calendar_id          TEXT NOT NULL,
    advoware_frnr        INTEGER,         -- NULL until the Termin exists (a Google-born event)
    google_event_id      TEXT,            -- NULL until the event exists (an Advoware-born Termin)
    source_system        TEXT NOT NULL CHECK (source_system IN ('advoware', 'google')),
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'synced', 'failed')),
    advoware_row_id      TEXT,
    advoware_fingerprint TEXT,
    google_etag          TEXT,
    google_updated       TEXT,
    google_fingerprint   TEXT,
    mapped_start         TEXT,
    mapped_end           TEXT,     -- NULL: a series without an end
    failure_count        INTEGER NOT NULL DEFAULT 0,
    next_retry_at        TEXT,
    failure_reason       TEXT,
    failed_fingerprint   TEXT,            -- both sides' content at the last failure
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CHECK (advoware_frnr IS NOT NULL OR google_event_id IS NOT NULL)
);
-- NULLs are distinct in both engines: an unmapped side never collides.
CREATE UNIQUE INDEX calendar_mappings_frnr_idx ON calendar_mappings (kuerzel, advoware_frnr);
CREATE UNIQUE INDEX calendar_mappings_event_idx ON calendar_mappings (calendar_id, google_event_id);

-- Per employee: the calendar, where the Google listing continues, and when it last worked.
CREATE TABLE calendar_employees (
    kuerzel        TEXT PRIMARY KEY,
    calendar_id    TEXT,                 -- NULL until the calendar is created
    shared_with    TEXT,                 -- owner mode: the address the calendar is shared with
    sync_token     TEXT,                 -- NULL: the next Google listing is a full one
    last_full_sync TEXT,
    last_success   TEXT,
    braking        INTEGER NOT NULL DEFAULT 0,  -- a safety-brake episode is open (notified once)
    adopted_at     TEXT,          -- NULL: a found calendar whose unlinked events wait for adopt --apply
    updated_at     TEXT NOT NULL
);
