-- KAM schema, version 9: a password check in flight is not yet a failure of its
-- address. The gate (server/db/sql_auth.c) reserves each check as a failure row
-- before the hash, so concurrent checks of one name cannot slip past its limits;
-- the row is pending until the outcome: a right password deletes it, a wrong one
-- makes it a failure. The per-address limit counts failures only, so many users
-- logging in at once from one office address are not refused as if they had
-- failed (the per-name limits still count pending checks, and the checks in
-- flight from one address are bounded by max_connections_per_address).
ALTER TABLE login_failures ADD COLUMN pending boolean NOT NULL DEFAULT false;
