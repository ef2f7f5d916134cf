-- KAM schema, version 4: login throttling (issue 6). The state lives in the
-- database, not in kamd, so every instance sees every failure. kamd's
-- server/db/sql_auth.c holds the statements; docs/architecture.md the rules:
-- after login_lockout_threshold consecutive failures an account waits,
-- doubling per further failure up to login_lockout_max; at most
-- login_failures_per_hour failures are evaluated per account and hour, and
-- login_failures_per_minute per client address and minute.

-- One row per password check that failed, or is being checked right now (a
-- check reserves its row before it hashes, so concurrent attempts cannot slip
-- past a limit; a right password deletes it again). Rows older than an hour
-- are deleted a few at a time by later checks.
CREATE TABLE login_failures (
    id       bigserial PRIMARY KEY,
    username text CHECK (octet_length(username) BETWEEN 1 AND 63),  -- as typed; NULL once unlocked
    addr     text NOT NULL,                                          -- IPv4 address, or IPv6 /64
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user ON login_failures (username, at);
CREATE INDEX login_failures_addr ON login_failures (addr, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- Consecutive failures per user name, existing or not (so a lockout says
-- nothing about whether the user exists), and until when it must wait. A
-- right password or an unlock deletes the row; rows a day without attempts
-- are deleted a few at a time by later checks.
CREATE TABLE login_locks (
    username     text PRIMARY KEY CHECK (octet_length(username) BETWEEN 1 AND 63),
    failures     integer NOT NULL CHECK (failures >= 0),
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_locks_updated ON login_locks (updated_at);

-- What serving needs here, called by kam_grant_serving (0002's loop over every
-- kam_grant_serving_<part> function).
CREATE FUNCTION kam_grant_serving_auth(serving_role text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures, login_locks TO %I', serving_role);
    EXECUTE format('GRANT USAGE ON SEQUENCE login_failures_id_seq TO %I', serving_role);
END
$$;
