-- KAM schema, version 3: the tamper-evident audit chain and the bulk-read watch
-- (issue 4). docs/audit.md explains the design; kamd's verifier
-- (server/audit/chain.c) recomputes audit_entry_text() byte for byte, so the
-- two must change together (a new format gets a new version tag, never an edit).
--
-- Nothing here needs a grant to the serving role: it keeps INSERT and SELECT on
-- audit_log (0001), and everything else goes through the SECURITY DEFINER
-- functions below, which belong to the schema owner.

-- ---- the chain -----------------------------------------------------------

-- One head per partition: the last entry's sequence number and hash. Writers
-- take the first partition nobody else holds, so concurrent transactions chain
-- in parallel instead of queueing on one row lock held until their commit.
CREATE TABLE audit_chain (
    part smallint PRIMARY KEY CHECK (part BETWEEN 0 AND 7),
    seq  bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32)
);

ALTER TABLE audit_log
    ADD COLUMN part smallint,   -- chain partition, 0..7
    ADD COLUMN seq  bigint,     -- position in its partition, from 1 without gaps
    ADD COLUMN hash bytea;      -- sha256(previous hash in the partition || audit_entry_text(entry))

-- Where each partition starts: the "previous hash" of its first entry.
CREATE FUNCTION audit_genesis(p integer) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to('kam-audit-genesis:' || p, 'UTF8'))
$$;

-- What an entry's hash covers: every column but the hash, each on its own line,
-- text length-prefixed so no two entries can produce the same text. NULLs are
-- an empty line (user_id, account_id) or '-' (detail). Times in microseconds.
CREATE FUNCTION audit_entry_text(e audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'kam-audit-v1' || E'\n'
        || e.part || E'\n'
        || e.seq || E'\n'
        || e.id || E'\n'
        || (extract(epoch FROM e.at) * 1000000)::bigint || E'\n'
        || coalesce(e.user_id::text, '') || E'\n'
        || octet_length(e.username) || ':' || e.username || E'\n'
        || e.role || E'\n'
        || octet_length(e.action) || ':' || e.action || E'\n'
        || coalesce(e.account_id::text, '') || E'\n'
        || e.result || E'\n'
        || octet_length(e.client_addr) || ':' || e.client_addr || E'\n'
        || coalesce(octet_length(e.detail::text) || ':' || e.detail::text, '-') || E'\n'
$$;

-- Chain what was there before this migration into partition 0, in id order.
DO $$
DECLARE
    r audit_log;
    h bytea := audit_genesis(0);
    s bigint := 0;
BEGIN
    INSERT INTO audit_chain (part, seq, hash) SELECT p, 0, audit_genesis(p) FROM generate_series(0, 7) p;
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        s := s + 1;
        r.part := 0;
        r.seq := s;
        h := sha256(h || convert_to(audit_entry_text(r), 'UTF8'));
        UPDATE audit_log SET part = 0, seq = s, hash = h WHERE id = r.id;
    END LOOP;
    UPDATE audit_chain SET seq = s, hash = h WHERE part = 0;
END
$$;

ALTER TABLE audit_log
    ALTER COLUMN part SET NOT NULL,
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_log_part CHECK (part BETWEEN 0 AND 7),
    ADD CONSTRAINT audit_log_chain UNIQUE (part, seq);

-- Link every new entry, inside the INSERT that writes it: whatever the writer
-- put in at, part, seq and hash is replaced. The partition row stays locked
-- until the writer's transaction ends, so a partition's entries commit in seq
-- order; a writer waits only when all eight partitions are held.
CREATE FUNCTION audit_chain_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    pref integer := pg_backend_pid() % 8;
    head audit_chain%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_chain ORDER BY (part - pref + 8) % 8 LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT * INTO head FROM audit_chain WHERE part = pref FOR UPDATE;
    END IF;
    NEW.at := clock_timestamp();
    NEW.part := head.part;
    NEW.seq := head.seq + 1;
    NEW.hash := sha256(head.hash || convert_to(audit_entry_text(NEW), 'UTF8'));
    UPDATE audit_chain SET seq = NEW.seq, hash = NEW.hash WHERE part = head.part;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_chain_link();

-- The heads, for kamd's signed checkpoints and for verify (the serving role
-- cannot read audit_chain itself).
CREATE FUNCTION kam_audit_heads() RETURNS TABLE (part smallint, seq bigint, hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT part, seq, hash FROM audit_chain ORDER BY part
$$;

-- No index for kam audit log's time and action filters: every audited read
-- writes an entry, and each index is paid on every one of them; the log pages
-- by id (newest first) and the account and user indexes of 0001 serve its
-- common filters.

-- ---- the bulk-read watch ---------------------------------------------------

-- Per user: whether reads are blocked, and why. No foreign keys: these rows
-- are bookkeeping, and must not stop an administrator truncating users.
CREATE TABLE audit_watch_user (
    user_id       bigint PRIMARY KEY,
    flagged_at    timestamptz,            -- NULL: not flagged
    flagged_reads integer,                -- distinct accounts at the refused read
    flag_limit    integer,
    flag_window   integer                 -- seconds
);

-- The distinct accounts each watched user read in the current window.
CREATE TABLE audit_watch_read (
    user_id    bigint NOT NULL,
    account_id bigint NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (user_id, account_id)
);

-- Admit one detail read of p_account by p_user, or refuse it. Serialised per
-- user by the row lock on audit_watch_user, and committed before the read
-- runs, so parallel requests cannot slip past the limit. The read that would
-- make it more than p_limit distinct accounts within p_window seconds is
-- refused, flags the user and writes the watch.flag entry; until the flag is
-- cleared every detail read is refused ('flagged').
CREATE FUNCTION kam_watch_admit(p_user bigint, p_username text, p_role smallint, p_addr text,
                                p_account bigint, p_limit integer, p_window integer)
RETURNS TABLE (verdict text, reads integer, flagged_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    w audit_watch_user%ROWTYPE;
    n integer;
BEGIN
    INSERT INTO audit_watch_user (user_id) VALUES (p_user) ON CONFLICT DO NOTHING;
    SELECT * INTO w FROM audit_watch_user u WHERE u.user_id = p_user FOR UPDATE;
    IF w.flagged_at IS NOT NULL THEN
        RETURN QUERY SELECT 'flagged'::text, w.flagged_reads, w.flagged_at;
        RETURN;
    END IF;
    DELETE FROM audit_watch_read r WHERE r.user_id = p_user AND r.at <= now() - p_window * interval '1 second';
    SELECT count(*) INTO n FROM audit_watch_read r WHERE r.user_id = p_user AND r.account_id <> p_account;
    IF n >= p_limit THEN
        UPDATE audit_watch_user u SET flagged_at = now(), flagged_reads = n + 1, flag_limit = p_limit,
               flag_window = p_window
         WHERE u.user_id = p_user;
        INSERT INTO audit_log (user_id, username, role, action, result, client_addr, detail, account_id)
        VALUES (p_user, p_username, p_role, 'watch.flag', 'allowed', p_addr,
                jsonb_build_object('subject', p_username, 'subject_id', p_user, 'reads', n + 1,
                                   'limit', p_limit, 'window_s', p_window),
                p_account);
        RETURN QUERY SELECT 'flagged_now'::text, n + 1, now();
        RETURN;
    END IF;
    INSERT INTO audit_watch_read (user_id, account_id, at) VALUES (p_user, p_account, now())
        ON CONFLICT (user_id, account_id) DO UPDATE SET at = excluded.at;
    RETURN QUERY SELECT 'ok'::text, n + 1, NULL::timestamptz;
END
$$;

-- Clear p_user's flag and start their window afresh; the reads counted when
-- they were flagged, or NULL when there was no flag.
CREATE FUNCTION kam_watch_clear(p_user bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n integer;
BEGIN
    UPDATE audit_watch_user u SET flagged_at = NULL WHERE u.user_id = p_user AND u.flagged_at IS NOT NULL
        RETURNING u.flagged_reads INTO n;
    IF FOUND THEN
        DELETE FROM audit_watch_read r WHERE r.user_id = p_user;
    END IF;
    RETURN n;
END
$$;

-- Open flags: who, since when, and the limit that was exceeded.
CREATE FUNCTION kam_watch_alerts()
RETURNS TABLE (user_id bigint, flagged_at timestamptz, reads integer, flag_limit integer, flag_window integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT user_id, flagged_at, flagged_reads, flag_limit, flag_window
      FROM audit_watch_user WHERE flagged_at IS NOT NULL ORDER BY flagged_at, user_id
$$;

-- ---- export ----------------------------------------------------------------

-- Every layer of the given accounts as one JSON object per account: a key per
-- table that references accounts(id) by a one-column foreign key (but the
-- team, which is part of the account), holding its rows without that column.
-- Found at run time, so layers added by later migrations are exported too.
CREATE FUNCTION kam_account_layers(p_ids bigint[]) RETURNS TABLE (account_id bigint, layers jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t record;
    r record;
    base jsonb := '{}';
    agg jsonb := '{}';
BEGIN
    FOR t IN
        SELECT c.conrelid::regclass AS tbl, c.conrelid::regclass::text AS tname, a.attname AS col
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.confrelid = 'accounts'::regclass AND cardinality(c.conkey) = 1
           AND c.conrelid <> 'account_team'::regclass
         ORDER BY 2
    LOOP
        base := base || jsonb_build_object(t.tname, '[]'::jsonb);
        FOR r IN EXECUTE format(
            'SELECT x.%1$I AS id, jsonb_agg(to_jsonb(x) - %2$L ORDER BY to_jsonb(x) -> ''id'') AS items '
            'FROM %3$s x WHERE x.%1$I = ANY ($1) GROUP BY x.%1$I', t.col, t.col::text, t.tbl)
            USING p_ids
        LOOP
            agg := jsonb_set(agg, ARRAY[r.id::text],
                             coalesce(agg -> (r.id::text), '{}') || jsonb_build_object(t.tname, r.items));
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT i, base || coalesce(agg -> (i::text), '{}') FROM unnest(p_ids) i;
END
$$;
