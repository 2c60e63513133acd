-- Calendar sync state (SYNC_RULES §5). Keep in lockstep with sqlite/0003_calendar.sql.

-- One row per appointment the service maps: an Advoware Termin (frNr) and the event of the
-- employee's Google calendar, who owns it, and what both sides looked like when last synced.
CREATE TABLE calendar_mappings (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kuerzel              TEXT NOT NULL,
    calendar_id          TEXT NOT NULL,
    advoware_frnr        BIGINT,          -- NULL until the Termin exists (a Google-born event)
    google_event_id      TEXT,            -- NULL until the event exists (an Advoware-born Termin)
    source_system        TEXT NOT NULL CHECK (source_system IN ('advoware', 'google')),
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'synced', 'failed')),
    advoware_row_id      TEXT,
    advoware_fingerprint TEXT,
    google_etag          TEXT,
    google_updated       TIMESTAMPTZ,
    google_fingerprint   TEXT,
    mapped_start         TIMESTAMPTZ,
    mapped_end           TIMESTAMPTZ,     -- NULL: a series without an end
    failure_count        INTEGER NOT NULL DEFAULT 0,
    next_retry_at        TIMESTAMPTZ,
    failure_reason       TEXT,
    failed_fingerprint   TEXT,            -- both sides' content at the last failure
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
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
    last_full_sync TIMESTAMPTZ,
    last_success   TIMESTAMPTZ,
    braking        BOOLEAN NOT NULL DEFAULT FALSE,  -- a safety-brake episode is open (notified once)
    adopted_at     TIMESTAMPTZ,   -- NULL: a found calendar whose unlinked events wait for adopt --apply
    updated_at     TIMESTAMPTZ NOT NULL
);
