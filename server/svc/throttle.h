/*
 * Internal to svc/: a throttled password check (issue 6), shared by login and
 * `user passwd`. The store's gate refuses a name or address over its limits
 * before anything is hashed; otherwise argon2id verifies on the thread pool
 * (against a dummy hash for an unknown name), and the outcome is recorded
 * and audited. The caller continues only when the password was right.
 */
#ifndef KAMD_SVC_THROTTLE_H
#define KAMD_SVC_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "svc_call.h"

struct svc_pwcheck;

typedef void (*svc_pwcheck_fn)(struct svc_call *c, struct svc_pwcheck *pc);

struct svc_pwcheck {
	/* Set by the caller; the strings must live as long as the call. */
	const char *username;         /* whose password, as named: also what is throttled */
	const char *password;         /* the candidate (the caller's call end wipes it) */
	const char *field;            /* Error.field of the refusals: NULL for login */
	const char *wrong_msg;        /* the answer to a wrong password (or unknown name) */
	svc_pwcheck_fn verified;      /* the password is right; the name's failures are forgotten */
	/* Filled in by the check, for verified(): the user as stored. */
	bool known;
	int64_t user_id;
	const char *stored_name;
	enum kam_role role;
	bool active;
	const char *stored_hash;      /* PHC string */
	/* Private. */
	int64_t reservation;
	int failures;
	bool ok;                      /* written by the worker */
	enum kam_status refuse_code;  /* the answer while the attempt's audit row is written */
	const char *refuse_msg;
	bool has_turn;                /* this check is the one running for its name here */
	struct svc_call *next_waiting; /* the next check for the same name, waiting its turn */
};

/*
 * Run the check; it ends the call itself unless the password is right (then
 * pc->verified). pc must be c->op_state, or its first member: the check's
 * callbacks find it there. Checks of one name run one after the other in a
 * kamd (the others wait in memory): concurrent right passwords are never
 * mistaken for a burst of failures, and a burst for one name is serialised.
 */
void svc_pwcheck(struct svc_call *c, struct svc_pwcheck *pc);

/*
 * Refuse after a right password (a deactivated user): audit the attempt as
 * failed with reason, and answer UNAUTHENTICATED with msg. Ends the call.
 */
void svc_pwcheck_refuse(struct svc_call *c, struct svc_pwcheck *pc, const char *reason, const char *msg);

#endif
