-- tests/bench/sql/dataset.sql — the benchmark's data set, one INSERT ... SELECT
-- generate_series per table, run by tests/bench/run.sh as the superuser on a
-- fresh database that kamd has migrated and given its first GM (id 1).
--
-- psql variables (all set by run.sh):
--   accounts   accounts to create, ids 1..accounts
--   juniors, solutions, managers   users of each role; ids from jbase+1,
--              sbase+1, mbase+1; names bench<i>, sol<i>, mgr<i>
--   sessions   juniors 1..sessions get a session for pgbench (token hash
--              sha256('kam-bench-session-' || user id))
--   layers     true when 0002_layers.sql is there (barriers, projects, ...)
--
-- Shape, in the proportions of a key-account book: junior i works accounts
-- i, i + juniors, i + 2*juniors ... (at most 30, the bulk-read watch's limit,
-- so a rep reading all of theirs is normal work); 2 % of accounts are
-- strategic (owned by the junior's manager), 10 % TOP (owned by a solution
-- rep), 30 % important and 58 % ordinary (owned by the junior); the team is
-- the junior and the owner. Per account on average: 1.5 barriers, 2 projects,
-- 4 contacts, 1 value proposition; strategic accounts have an agreement.
-- Every user's password hash is the GM's, so all log in with its password.

\set ON_ERROR_STOP on

INSERT INTO users (id, username, role, reports_to, password_hash)
SELECT :mbase + g, 'mgr' || g, 3, 1, (SELECT password_hash FROM users WHERE id = 1)
FROM generate_series(1, :managers) g;

INSERT INTO users (id, username, role, reports_to, password_hash)
SELECT :sbase + g, 'sol' || g, 2, :mbase + (g - 1) % :managers + 1, (SELECT password_hash FROM users WHERE id = 1)
FROM generate_series(1, :solutions) g;

INSERT INTO users (id, username, role, reports_to, password_hash)
SELECT :jbase + g, 'bench' || g, 1, :mbase + (g - 1) % :managers + 1, (SELECT password_hash FROM users WHERE id = 1)
FROM generate_series(1, :juniors) g;

SELECT setval('users_id_seq', (SELECT max(id) FROM users));

-- 0005's trigger notes every account a transaction creates in a setting, so its
-- creator may see it: right for a request, quadratic for a million rows in one
-- statement. The generator is the superuser and needs no note.
ALTER TABLE accounts DISABLE TRIGGER kam_rls_note_created;

-- j: the junior (1-based), t: the tier slot 0..99.
INSERT INTO accounts (id, name, tier, stage, strategy, owner_id, founded, headcount, business, revenue, budget,
                      currency, suppliers, notes)
SELECT g, 'Account ' || g,
       CASE WHEN t < 2 THEN 1 WHEN t < 12 THEN 2 WHEN t < 42 THEN 3 ELSE 4 END,
       1 + g % 3, g % 3,
       CASE WHEN t < 2 THEN :mbase + (j - 1) % :managers + 1
            WHEN t < 12 THEN :sbase + (j - 1) % :solutions + 1
            ELSE :jbase + j END,
       1900 + g % 120, 50 + (g * 37) % 100000, 'industrial equipment, line ' || g % 97,
       (1000000 + (g * 7919) % 900000000)::bigint * 100, (100000 + (g * 104729) % 90000000)::bigint * 100,
       'EUR', 'Incumbent ' || g % 13 || ', Incumbent ' || g % 29, ''
FROM (SELECT g, (g - 1) % :juniors + 1 AS j, (g * 7) % 100 AS t FROM generate_series(1::bigint, :accounts) g) s;

ALTER TABLE accounts ENABLE TRIGGER kam_rls_note_created;

SELECT setval('accounts_id_seq', :accounts);

INSERT INTO account_team (account_id, user_id)
SELECT a.id, u.id
FROM accounts a
CROSS JOIN LATERAL (VALUES (:jbase + (a.id - 1) % :juniors + 1), (a.owner_id)) AS u(id)
GROUP BY a.id, u.id;

INSERT INTO sessions (user_id, token_hash, expires_at)
SELECT :jbase + g, sha256(convert_to('kam-bench-session-' || (:jbase + g), 'UTF8')), now() + interval '1 day'
FROM generate_series(1, :sessions) g;

\if :layers
-- Barriers: 3 per 2 accounts; a third of them being worked.
INSERT INTO barriers (account_id, kind, description, status, breakthrough, owner_id, created_by)
SELECT a.id, 1 + g % 9, 'Barrier ' || g, CASE WHEN g % 3 = 0 THEN 2 ELSE 1 END,
       CASE WHEN g % 3 = 0 THEN 'get listed' ELSE '' END, a.owner_id, a.owner_id
FROM generate_series(1, :accounts * 3 / 2) g
JOIN accounts a ON a.id = (g - 1) % :accounts + 1;

-- Projects: 2 per account, at every stage; one in five won.
INSERT INTO projects (account_id, name, stage, status, reason, owner_id, involved_stage, stages_taken,
                      expected_value, currency, created_by, closed_at)
SELECT a.id, 'Project ' || g, 1 + g % 9,
       CASE WHEN g % 5 = 0 THEN 'won' ELSE 'open' END, CASE WHEN g % 5 = 0 THEN 'best offer' ELSE '' END,
       a.owner_id, 1 + g % 9, (1 << (1 + g % 9)), 100000 * (1 + g % 50), 'EUR', a.owner_id,
       CASE WHEN g % 5 = 0 THEN now() END
FROM generate_series(1, :accounts * 2) g
JOIN accounts a ON a.id = (g - 1) % :accounts + 1;

-- Contacts: 4 per account, with weights and stances.
INSERT INTO contacts (account_id, name, title, decision_role, criteria, weight, stance, org_needs, personal_needs,
                      created_by)
SELECT a.id, 'Contact ' || g, 'Head of ' || g % 11, 'decider', 'price and service', g % 101, g % 4,
       'lower cost', 'recognition', a.owner_id
FROM generate_series(1, :accounts * 4) g
JOIN accounts a ON a.id = (g - 1) % :accounts + 1;

INSERT INTO value_props (account_id, level, text, created_by)
SELECT a.id, 1 + g % 3, 'Value ' || g, a.owner_id
FROM generate_series(1, :accounts) g
JOIN accounts a ON a.id = g;

INSERT INTO agreements (account_id, signed_by, signed_on, scope, term_months, recorded_by)
SELECT a.id, 'CEO', current_date - g % 700, 'strategic cooperation', 36, 1
FROM generate_series(1, :accounts) g
JOIN accounts a ON a.id = g AND a.tier = 1;
\endif
