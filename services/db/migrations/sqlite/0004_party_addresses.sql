-- Which party holds an EspoCRM address (CAdressen): a CAdressen delete webhook carries only the
-- address id, and the service must find the party without scanning snapshots. Written with the
-- party's snapshot, in the same transaction. Keep in lockstep with postgres/0004_party_addresses.sql.
CREATE TABLE party_addresses (
    address_id TEXT PRIMARY KEY,
    espo_id    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX party_addresses_party_idx ON party_addresses (espo_id);
