-- KAM schema, version 1: users, sessions, accounts (information layer), teams,
-- and the first cut of the audit trail. Applied by kamd at start, in one
-- transaction, as the schema owner (--db-admin).

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE
                  CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    role          smallint NOT NULL CHECK (role BETWEEN 1 AND 4),  -- 1 junior, 2 solution, 3 manager, 4 gm
    reports_to    bigint REFERENCES users(id),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (reports_to IS NULL OR reports_to <> id)
);
CREATE INDEX users_reports_to ON users (reports_to);

CREATE TABLE sessions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),  -- SHA-256 of the token
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,                                   -- absolute expiry
    revoked_at   timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    tier        smallint NOT NULL CHECK (tier BETWEEN 1 AND 4),      -- 1 strategic, 2 top, 3 important, 4 ordinary
    stage       smallint NOT NULL DEFAULT 1 CHECK (stage BETWEEN 1 AND 3),  -- 1 breakthrough, 2 consolidation, 3 occupation
    strategy    smallint NOT NULL DEFAULT 0 CHECK (strategy BETWEEN 0 AND 2), -- 0 undecided, 1 attack, 2 watch
    owner_id    bigint NOT NULL REFERENCES users(id),
    -- information layer
    founded     integer CHECK (founded BETWEEN 1000 AND 2200),
    headcount   bigint CHECK (headcount >= 0),
    business    text NOT NULL DEFAULT '',
    revenue     bigint CHECK (revenue >= 0),      -- minor units of currency
    budget      bigint CHECK (budget >= 0),       -- minor units of currency
    currency    text NOT NULL DEFAULT '' CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
    suppliers   text NOT NULL DEFAULT '',
    notes       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX accounts_owner ON accounts (owner_id);

CREATE TABLE account_team (
    account_id bigint NOT NULL REFERENCES accounts(id),
    user_id    bigint NOT NULL REFERENCES users(id),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_team_user ON account_team (user_id);

-- The audit trail. The serving role may INSERT and SELECT, never UPDATE or DELETE.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id     bigint,                  -- NULL: unknown user (failed login)
    username    text NOT NULL,
    role        smallint NOT NULL DEFAULT 0,
    action      text NOT NULL,
    account_id  bigint,
    result      text NOT NULL CHECK (result IN ('allowed', 'denied', 'failed')),
    client_addr text NOT NULL DEFAULT '',
    detail      jsonb
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE INDEX audit_log_user ON audit_log (user_id, id);

-- Grant the serving role exactly what serving needs. Called by kamd after the
-- migrations with the serving role's name (identifiers cannot be parameters).
CREATE FUNCTION kam_grant_serving(serving_role text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), serving_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON users, sessions, accounts TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON account_team TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT ON audit_log TO %I', serving_role);
    EXECUTE format('GRANT USAGE ON SEQUENCE users_id_seq, sessions_id_seq, accounts_id_seq, audit_log_id_seq TO %I',
                   serving_role);
END
$$;
