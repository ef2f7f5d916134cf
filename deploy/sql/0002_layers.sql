-- KAM schema, version 2: the four layers beyond information — barriers,
-- business (projects and their stage history), relationships (contacts and
-- the projects they decide on), interest (value propositions, strategic
-- agreements). Applied by kamd at start, in one transaction, as the schema owner.
-- Enumerations are smallints numbered as in proto/kam/v1/kam.proto.

CREATE TABLE barriers (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts(id),
    kind         smallint NOT NULL CHECK (kind BETWEEN 1 AND 9),      -- BarrierKind
    description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 8192),
    status       smallint NOT NULL DEFAULT 1 CHECK (status BETWEEN 1 AND 3),  -- 1 open, 2 working, 3 cleared
    breakthrough text NOT NULL DEFAULT '',                             -- the planned breakthrough
    due          date,                                                 -- planned breakthrough date
    owner_id     bigint REFERENCES users(id),                          -- who works it
    created_by   bigint NOT NULL REFERENCES users(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    cleared_at   timestamptz,
    version      bigint NOT NULL DEFAULT 1,
    CHECK ((status = 3) = (cleared_at IS NOT NULL))
);
CREATE INDEX barriers_account ON barriers (account_id, id);

-- stages_taken: bit (1 << stage) for every buying-process stage we took part in.
CREATE TABLE projects (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts(id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    stage          smallint NOT NULL CHECK (stage BETWEEN 1 AND 9),    -- ProjectStage: situation .. acceptance
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
    reason         text NOT NULL DEFAULT '',                           -- why won or lost
    owner_id       bigint NOT NULL REFERENCES users(id),
    involved_stage smallint NOT NULL CHECK (involved_stage BETWEEN 1 AND 9),
    stages_taken   integer NOT NULL CHECK (stages_taken > 0),
    expected_value bigint CHECK (expected_value >= 0),                 -- minor units of currency
    currency       text NOT NULL DEFAULT '' CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
    close_date     date,                                               -- expected close
    created_by     bigint NOT NULL REFERENCES users(id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    version        bigint NOT NULL DEFAULT 1,
    CHECK (expected_value IS NULL OR currency <> ''),
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status = 'open' OR reason <> '')
);
CREATE INDEX projects_account ON projects (account_id, id);
CREATE INDEX projects_owner ON projects (owner_id) WHERE status = 'open';

-- Every move of a project, backwards and skipping included: the method's record.
CREATE TABLE project_moves (
    id         bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects(id),
    kind       smallint NOT NULL CHECK (kind BETWEEN 1 AND 6),   -- MoveKind: start forward skip back won lost
    from_stage smallint CHECK (from_stage BETWEEN 1 AND 9),
    to_stage   smallint CHECK (to_stage BETWEEN 1 AND 9),
    by_user    bigint NOT NULL REFERENCES users(id),
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX project_moves_project ON project_moves (project_id, id);

CREATE TABLE contacts (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts(id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    title          text NOT NULL DEFAULT '',
    decision_role  text NOT NULL DEFAULT '',
    criteria       text NOT NULL DEFAULT '',                 -- what they base decisions on
    weight         smallint CHECK (weight BETWEEN 0 AND 100),  -- influence; NULL unknown
    stance         smallint NOT NULL DEFAULT 0 CHECK (stance BETWEEN 0 AND 3),  -- 0 unknown, 1 support, 2 neutral, 3 oppose
    org_needs      text NOT NULL DEFAULT '',
    personal_needs text NOT NULL DEFAULT '',
    created_by     bigint NOT NULL REFERENCES users(id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1
);
CREATE INDEX contacts_account ON contacts (account_id, id);

-- The projects a contact decides on (always projects of the contact's account).
CREATE TABLE contact_projects (
    contact_id bigint NOT NULL REFERENCES contacts(id),
    project_id bigint NOT NULL REFERENCES projects(id),
    PRIMARY KEY (contact_id, project_id)
);
CREATE INDEX contact_projects_project ON contact_projects (project_id);

CREATE TABLE value_props (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts(id),
    level      smallint NOT NULL CHECK (level BETWEEN 1 AND 3),   -- 1 business, 2 relationship, 3 strategic
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 8192),
    created_by bigint NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX value_props_account ON value_props (account_id, id);

-- Strategic cooperation agreements: recorded by the GM alone (docs/authorization.md).
CREATE TABLE agreements (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts(id),
    signed_by   text NOT NULL CHECK (length(signed_by) BETWEEN 1 AND 8192),
    signed_on   date NOT NULL,
    scope       text NOT NULL CHECK (length(scope) BETWEEN 1 AND 8192),
    term_months integer CHECK (term_months BETWEEN 1 AND 1200),   -- NULL: open-ended
    recorded_by bigint NOT NULL REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agreements_account ON agreements (account_id, id);

-- What serving needs on these tables, as its own function: kam_grant_serving
-- (0001) now calls every kam_grant_serving_<part>(role) function there is, so
-- later migrations add theirs the same way instead of rewriting the whole grant.
CREATE FUNCTION kam_grant_serving_layers(serving_role text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON barriers, projects, contacts TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT ON project_moves, value_props, agreements TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON contact_projects TO %I', serving_role);
    EXECUTE format('GRANT USAGE ON SEQUENCE barriers_id_seq, projects_id_seq, project_moves_id_seq, '
                   'contacts_id_seq, value_props_id_seq, agreements_id_seq TO %I', serving_role);
END
$$;

CREATE OR REPLACE FUNCTION kam_grant_serving(serving_role text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    part regprocedure;
BEGIN
    -- The grants of 0001, unchanged.
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), serving_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON users, sessions, accounts TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON account_team TO %I', serving_role);
    EXECUTE format('GRANT SELECT, INSERT ON audit_log TO %I', serving_role);
    EXECUTE format('GRANT USAGE ON SEQUENCE users_id_seq, sessions_id_seq, accounts_id_seq, audit_log_id_seq TO %I',
                   serving_role);
    -- Then every part's own function, in name order.
    FOR part IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND p.proname LIKE 'kam\_grant\_serving\_%'
          AND p.pronargs = 1 AND p.proargtypes[0] = 'text'::regtype
        ORDER BY p.proname
    LOOP
        EXECUTE format('SELECT %s($1)', part::oid::regproc) USING serving_role;
    END LOOP;
END
$$;
