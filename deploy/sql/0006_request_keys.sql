-- KAM schema, version 6: idempotency keys (issue 7). A client sends a random
-- key with each write (proto/README.md, Request.request_key) and the same key
-- again when it retries; a key is per user and kept 24 h. kamd arms the key in
-- the kam_act_as prologue of the job that carries the write
-- (server/db/sql_rls.c: kam.request_key, local to the transaction), and the
-- write's allowed audit entry claims it, in the same transaction: an act that
-- changes nothing writes no entry (0001's CTEs), so it claims nothing either.
-- A retry whose first attempt committed fails with SQLSTATE KAM01, rolling
-- back all it did, and kamd answers "replayed" instead of applying it twice.
--
-- The serving role cannot read or write the table: it only calls the
-- SECURITY DEFINER functions below, which act for the acting user that
-- kam_act_as has set (kam.user_id, 0005_rls.sql).

CREATE TABLE request_keys (
    user_id    bigint NOT NULL,
    key        bytea NOT NULL CHECK (octet_length(key) BETWEEN 16 AND 64),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX request_keys_created ON request_keys (created_at);

-- Defence in depth, as for the account tables (0005): only the owner's policy,
-- so a role granted the table by mistake would still see no row.
ALTER TABLE request_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE request_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY kam_owner ON request_keys TO CURRENT_USER USING (true) WITH CHECK (true);

-- Claim p_key for the acting user (true); NULL claims nothing (NULL). Runs in
-- the write's transaction, so the claim commits or rolls back with the write.
-- A second attempt with the same key waits on the first one's unique-index
-- entry (speculative insertion) until it commits (then KAM01: already
-- applied) or rolls back (then this one applies). A key older than 24 h
-- counts as new. Two claims of one key in one transaction (kamd's group
-- commit put both attempts into one batch) prove nothing yet: 40K01, a
-- transaction-rollback class, makes kamd run both again, each on its own.
CREATE FUNCTION kam_request_key_claim(p_key bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    actor bigint := kam_rls_actor();
    claimed integer;
BEGIN
    IF p_key IS NULL THEN
        RETURN NULL;
    END IF;
    IF actor IS NULL OR actor <= 0 THEN
        RAISE EXCEPTION 'a request key needs an acting user';
    END IF;
    -- A few expired keys go on the way; rows other writers hold are skipped.
    DELETE FROM request_keys WHERE (user_id, key) IN (
        SELECT user_id, key FROM request_keys WHERE created_at < now() - interval '24 hours'
        ORDER BY created_at LIMIT 16 FOR UPDATE SKIP LOCKED);
    INSERT INTO request_keys (user_id, key) VALUES (actor, p_key)
    ON CONFLICT (user_id, key) DO UPDATE SET created_at = now()
        WHERE request_keys.created_at < now() - interval '24 hours';
    GET DIAGNOSTICS claimed = ROW_COUNT;
    IF claimed > 0 THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM request_keys WHERE user_id = actor AND key = p_key
               AND xmin = xid(pg_current_xact_id_if_assigned())) THEN
        RAISE EXCEPTION 'request key claimed twice in one transaction' USING ERRCODE = '40K01';
    END IF;
    RAISE EXCEPTION 'request key already used: this write was applied before' USING ERRCODE = 'KAM01';
END
$$;

-- The first allowed entry after kam_act_as armed a key claims it and disarms
-- it, so the further entries of one act (a hand-over writes one per account)
-- do not claim it again. Denied and failed entries never claim: a refused
-- write may be sent again with the same key once it is allowed.
CREATE FUNCTION kam_request_key_on_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    armed text := current_setting('kam.request_key', true);
BEGIN
    IF armed IS NULL OR armed = '' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('kam.request_key', '', true);
    PERFORM kam_request_key_claim(decode(armed, 'hex'));
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_log_request_key AFTER INSERT ON audit_log FOR EACH ROW
    WHEN (NEW.result = 'allowed' AND current_setting('kam.request_key', true) <> '')
    EXECUTE FUNCTION kam_request_key_on_audit();

-- Whether the acting user's p_key is claimed (by a committed write, or one
-- before this in the same transaction) and not yet expired. kamd asks when a
-- keyed write is refused, to tell a retry refused because of what its first
-- attempt changed (a version, a cleared barrier) from a real refusal.
CREATE FUNCTION kam_request_key_seen(p_key bytea) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT EXISTS (SELECT 1 FROM request_keys WHERE user_id = kam_rls_actor() AND key = p_key
                   AND created_at >= now() - interval '24 hours')
$$;

REVOKE EXECUTE ON FUNCTION kam_request_key_claim(bytea), kam_request_key_seen(bytea) FROM PUBLIC;

-- What serving needs here, called by kam_grant_serving (0002's loop over every
-- kam_grant_serving_<part> function): the two functions, never the table.
CREATE FUNCTION kam_grant_serving_request_keys(serving_role text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION kam_request_key_claim(bytea), kam_request_key_seen(bytea) TO %I',
                   serving_role);
END
$$;
