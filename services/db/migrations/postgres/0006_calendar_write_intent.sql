-- The content a write in flight carries (`<side>:<fingerprint>`), saved before the write: a side
-- that shows it holds the service's own write, not a user's edit (services/calendar/mappings.py).
ALTER TABLE calendar_mappings ADD COLUMN write_intent TEXT;
