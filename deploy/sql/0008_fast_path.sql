-- KAM schema, version 8: the fast path (issue 5). Guards that kamd puts at
-- the head of a request's first job (server/db/sql_guard.c), so a check runs
-- in that job's transaction instead of taking a round trip and a transaction
-- of its own. A guard refuses by raising its own SQLSTATE, which rolls the
-- whole job back; kamd then takes the full path (a separate check), so the
-- rules are exactly those of the full path.

-- The session check of a connection whose session kamd already checked once:
-- still valid (not revoked, not expired, used within the idle window), its
-- user still active and still of the role kamd holds. Touches last_seen_at
-- as session_check does (once per tenth of the idle window). KAM02: check
-- again the full way.
CREATE FUNCTION kam_session_guard(p_token bytea, p_user bigint, p_role smallint, p_idle integer)
RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    sid bigint;
    seen timestamptz;
BEGIN
    SELECT s.id, s.last_seen_at INTO sid, seen
      FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.token_hash = p_token AND s.revoked_at IS NULL AND s.expires_at > now()
       AND s.last_seen_at > now() - p_idle * interval '1 second'
       AND u.active AND u.id = p_user AND u.role = p_role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the session must be checked again' USING ERRCODE = 'KAM02';
    END IF;
    IF seen < now() - p_idle * interval '100 milliseconds' THEN
        UPDATE sessions SET last_seen_at = now() WHERE id = sid;
    END IF;
END
$$;

-- The bulk-read watch ahead of the read it admits, in the read's transaction.
-- KAM03 when kam_watch_admit (0003) says anything but ok: the flag it just set
-- rolls back with the read, and kamd asks kam_watch_admit again on its own,
-- where the flag commits.
CREATE FUNCTION kam_watch_guard(p_user bigint, p_username text, p_role smallint, p_addr text,
                                p_account bigint, p_limit integer, p_window integer)
RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF (SELECT verdict FROM kam_watch_admit(p_user, p_username, p_role, p_addr, p_account, p_limit, p_window))
       IS DISTINCT FROM 'ok' THEN
        RAISE EXCEPTION 'the bulk-read watch does not admit this read' USING ERRCODE = 'KAM03';
    END IF;
END
$$;

-- 0005's two resolvers as PL/pgSQL with one generic plan: an SQL function
-- that cannot be inlined (these are SECURITY DEFINER) is parsed and planned
-- again on every call, and PL/pgSQL's own choice keeps planning this one
-- afresh for each value (a custom plan). A lookup by key needs no such care.
-- Measured on the benchmark's data set, one call of account_access: 0.49 ms
-- as SQL, 0.31 ms as PL/pgSQL, 0.08 ms with the generic plan. Same queries,
-- same rules. (Not for the whole connection: the account list's plan does
-- depend on the values, the caller's role above all.)
CREATE OR REPLACE FUNCTION kam_account_access(p_asker bigint, p_ref text, p_id bigint)
RETURNS TABLE (a_id bigint, a_tier smallint, a_owner bigint, a_version bigint, a_relation integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY WITH RECURSIVE reports AS (
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
    FROM acc;
END
$$;

CREATE OR REPLACE FUNCTION kam_layer_account_of(p_layer integer, p_id bigint) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY SELECT account_id FROM barriers WHERE id = p_id AND p_layer = 0
    UNION ALL SELECT account_id FROM projects WHERE id = p_id AND p_layer = 1
    UNION ALL SELECT account_id FROM contacts WHERE id = p_id AND p_layer = 2;
END
$$;
