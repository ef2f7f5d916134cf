-- KAM schema, version 5: row-level security (issue 7), defence in depth behind
-- the daemon's authorization (docs/authorization.md). kamd sets kam.user_id to
-- the acting user at the start of each job's transaction (server/db/sql_rls.c);
-- the serving role then sees, in every account table, only the rows of
-- accounts that user may read: all for a GM, otherwise accounts whose team
-- holds the user or, for a manager, anyone reporting to them. Without an
-- acting user it sees none. The schema owner (who applies migrations and owns
-- the helper functions) keeps a policy that shows it everything; FORCE makes
-- every other role, the owner's included, go through the policies.

-- The acting user, NULL when none is set.
CREATE FUNCTION kam_rls_actor() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('kam.user_id', true), '')::bigint $$;

-- The helpers the policies call are PL/pgSQL: their plans are cached for the
-- connection's life, where an SQL function that cannot be inlined (a SECURITY
-- DEFINER one) is planned again on every statement that calls it.

-- Whether the acting user is an active GM.
CREATE FUNCTION kam_rls_gm() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM users WHERE id = kam_rls_actor() AND role = 4 AND active);
END
$$;

-- The acting user and, for a manager, everyone reporting to them, transitively.
CREATE FUNCTION kam_rls_people() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT ROWS 10 AS $$
BEGIN
    RETURN QUERY WITH RECURSIVE me AS (SELECT id, role FROM users WHERE id = kam_rls_actor() AND active),
    reports AS (
        SELECT u.id FROM users u JOIN me ON u.reports_to = me.id WHERE me.role = 3
        UNION SELECT u.id FROM users u JOIN reports r ON u.reports_to = r.id)
    SELECT me.id FROM me UNION SELECT reports.id FROM reports;
END
$$;

-- A user's accounts straight from the index, without visiting the table: the
-- policies below ask for them on every statement. It replaces 0001's
-- account_team (user_id), its prefix.
CREATE INDEX account_team_user_account ON account_team (user_id, account_id);
DROP INDEX account_team_user;

-- Accounts whose team holds one of kam_rls_people(). The people as an array first, so
-- the team is read through the index above rather than scanned. A policy's
-- "IN (SELECT kam_rls_accounts())" hashes these once per statement (per table
-- it reads); a check of one account is then a probe of that hash.
CREATE FUNCTION kam_rls_accounts() RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT ROWS 100 AS $$
DECLARE
    people bigint[] := ARRAY(SELECT kam_rls_people());
BEGIN
    RETURN QUERY SELECT DISTINCT t.account_id FROM account_team t WHERE t.user_id = ANY (people);
END
$$;

-- Accounts inserted by the current transaction (noted by the trigger below):
-- their creator sees what the insert returns even when the account is another
-- user's (a manager creating for anyone), as the daemon's rules allow.
CREATE FUNCTION kam_rls_created() RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT string_to_array(NULLIF(current_setting('kam.created', true), ''), ',')::bigint[]
$$;

CREATE FUNCTION kam_rls_note_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('kam.created', concat_ws(',', NULLIF(current_setting('kam.created', true), ''), NEW.id), true);
    RETURN NEW;
END
$$;

-- Resolving a reference is the authorization step itself, so these two see
-- every row: an account's id, tier, owner, version and the asker's relation
-- to it (server/db/sql_account.c), and the account of a barrier, project or
-- contact (server/db/sql_layers.c). Neither returns an account's content.
CREATE FUNCTION kam_account_access(p_asker bigint, p_ref text, p_id bigint)
RETURNS TABLE (a_id bigint, a_tier smallint, a_owner bigint, a_version bigint, a_relation integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    WITH RECURSIVE reports AS (
        SELECT id FROM users WHERE reports_to = p_asker
        UNION SELECT u.id FROM users u JOIN reports r ON u.reports_to = r.id),
    acc AS (
        SELECT id, tier, owner_id, version FROM (
            SELECT 1 AS pick, id, tier, owner_id, version FROM accounts WHERE id = p_id
            UNION ALL SELECT 2, id, tier, owner_id, version FROM accounts WHERE name = p_ref
        ) c ORDER BY pick LIMIT 1)
    SELECT acc.id, acc.tier, acc.owner_id, acc.version, CASE
        WHEN acc.owner_id = p_asker THEN 3
        WHEN EXISTS (SELECT 1 FROM account_team t WHERE t.account_id = acc.id AND t.user_id = p_asker) THEN 2
        WHEN EXISTS (SELECT 1 FROM account_team t JOIN reports r ON r.id = t.user_id
                     WHERE t.account_id = acc.id) THEN 1
        ELSE 0 END
    FROM acc
$$;

CREATE FUNCTION kam_layer_account_of(p_layer integer, p_id bigint) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT account_id FROM barriers WHERE id = p_id AND p_layer = 0
    UNION ALL SELECT account_id FROM projects WHERE id = p_id AND p_layer = 1
    UNION ALL SELECT account_id FROM contacts WHERE id = p_id AND p_layer = 2
$$;

-- The owner's policy, then FORCE, on every table that holds an account's data.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['accounts', 'account_team', 'barriers', 'projects', 'project_moves',
                             'contacts', 'contact_projects', 'value_props', 'agreements'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY kam_owner ON %I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
    -- The layers: readable and writable with their account.
    FOREACH t IN ARRAY ARRAY['barriers', 'projects', 'contacts', 'value_props', 'agreements'] LOOP
        EXECUTE format('CREATE POLICY kam_visible ON %I USING ((SELECT kam_rls_gm()) '
                       'OR account_id IN (SELECT kam_rls_accounts())) '
                       'WITH CHECK ((SELECT kam_rls_gm()) OR account_id IN (SELECT kam_rls_accounts()))', t);
    END LOOP;
END
$$;

CREATE TRIGGER kam_rls_note_created BEFORE INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION kam_rls_note_created();

-- An account is also its owner's (the owner is always on the team, but a new
-- account's team row is written by the same statement, which cannot see it),
-- and, within the transaction that created it, its creator's.
CREATE POLICY kam_visible ON accounts
    USING ((SELECT kam_rls_gm()) OR id IN (SELECT kam_rls_accounts())
           OR owner_id IN (SELECT kam_rls_people())
           OR (kam_rls_actor() IS NOT NULL AND id = ANY (kam_rls_created())))
    WITH CHECK ((SELECT kam_rls_gm()) OR id IN (SELECT kam_rls_accounts())
                OR owner_id IN (SELECT kam_rls_people())
                OR (kam_rls_actor() IS NOT NULL AND id = ANY (kam_rls_created())));

-- The team of a visible account; a new member row for a visible account, or
-- for an account the same transaction created (never: oneself onto any team).
CREATE POLICY kam_visible ON account_team
    USING ((SELECT kam_rls_gm()) OR account_id IN (SELECT kam_rls_accounts()))
    WITH CHECK ((SELECT kam_rls_gm()) OR account_id IN (SELECT kam_rls_accounts())
                OR (kam_rls_actor() IS NOT NULL AND account_id = ANY (kam_rls_created())));

-- Rows hanging off a project or a contact: visible with it. Written in the
-- same statement as their parent, which the check cannot see yet, so writing
-- needs an acting user, and the parent's own policy guards the parent.
CREATE POLICY kam_visible ON project_moves
    USING (project_id IN (SELECT id FROM projects))
    WITH CHECK (kam_rls_actor() IS NOT NULL);
CREATE POLICY kam_visible ON contact_projects
    USING (contact_id IN (SELECT id FROM contacts))
    WITH CHECK (kam_rls_actor() IS NOT NULL);
