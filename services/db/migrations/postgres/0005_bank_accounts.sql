-- The sync state of each bank account (SYNC_RULES §4), keyed by its EspoCRM id: the party it
-- belongs to (a delete webhook names only the account; the party's lock comes from here), the
-- party's betnr, the Advoware account id, the fields as last synced (JSON: iban, bic, bank,
-- kontoinhaber), and two flags: `tombstone` (deleted in EspoCRM, never re-created from
-- Advoware) and `manual` (an EspoCRM change waits to be made by hand in Advoware; `wanted` holds
-- it). Keep in lockstep with sqlite/0005_bank_accounts.sql.
CREATE TABLE bank_accounts (
    account_id TEXT PRIMARY KEY,
    espo_id    TEXT NOT NULL,
    betnr      BIGINT,
    konto_id   BIGINT,
    fields     JSONB NOT NULL,
    wanted     JSONB,
    tombstone  BOOLEAN NOT NULL DEFAULT FALSE,
    manual     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bank_accounts_party_idx ON bank_accounts (espo_id);
CREATE INDEX bank_accounts_konto_idx ON bank_accounts (konto_id);
