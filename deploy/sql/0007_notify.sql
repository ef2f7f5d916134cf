-- KAM schema, version 7: revocations announced (issue 7). When a session is
-- revoked (logout, a password change or reset ending other sessions, a
-- deactivation) or a user deactivated, the same transaction notifies channel
-- kam_revoke with 'session:ID' or 'user:ID'. PostgreSQL delivers it at
-- commit, and never for a rollback, to every kamd instance listening
-- (server/db/listen.c), which then closes that session's or user's open
-- connections at once. The notice is a speed-up, not the guard: every
-- request still checks its session (server/db/sql_session.c), and what is
-- notified while an instance is not listening is not replayed to it.
--
-- Only the revoking UPDATEs fire these: the session check's touch of
-- last_seen_at names no column they watch. The function runs as whoever
-- updates (pg_notify needs no privilege) and writes nothing.

-- TG_ARGV[0] names what the row is: 'session' or 'user'.
CREATE FUNCTION kam_notify_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kam_revoke', TG_ARGV[0] || ':' || NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_notify_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION kam_notify_revoked('session');

CREATE TRIGGER users_notify_deactivated AFTER UPDATE OF active ON users
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
    EXECUTE FUNCTION kam_notify_revoked('user');
