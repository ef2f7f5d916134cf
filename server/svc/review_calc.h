/*
 * The review as pure functions, internal to svc/: support balances, the gaps
 * the method finds at an account's tier, one team row per account, and cutting
 * one account's rows out of the layers of many. No store, no session, no I/O:
 * tests/unit/test_review_calc.c tests it alone.
 */
#ifndef KAMD_SVC_REVIEW_CALC_H
#define KAMD_SVC_REVIEW_CALC_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "model.h"

/* Joined at this stage or later is joining late: the need is set and someone else shapes the solution. */
#define SVC_LATE_STAGE KAM_PSTAGE_SOLUTION

/* Fill support and oppose of every open project: the total weight of its linked
 * contacts who support, and who oppose (an unknown weight counts 0). Only for
 * callers who may see stance and weight; leaves the rest absent. */
void svc_review_support(struct kam_layers *l);
/* Open projects whose supporters lead (support > oppose); needs svc_review_support first. */
bool svc_review_leads(const struct kam_project *p);
/*
 * What the method asks of acc's tier and l does not have, into an arena array:
 * strategic and TOP accounts get the whole method, important ones information,
 * barriers and business, ordinary ones nothing. Gaps that need stance and weight
 * are left out unless sensitive. KAM_ENOMEM.
 */
int svc_review_gaps(struct kam_arena *a, const struct kam_account *acc, const struct kam_layers *l, bool sensitive,
		    struct kam_gap **out, size_t *n_out) KAM_MUST_CHECK;
/* One row of `review --team`; l must have had svc_review_support when sensitive. */
int svc_review_row(struct kam_arena *a, const struct kam_account *acc, const struct kam_layers *l, bool sensitive,
		   struct kam_team_row *row) KAM_MUST_CHECK;
/* out = in with its own copy of the projects array (strings shared), support filled in when
 * sensitive, restricted when not (callers whose answer has no contacts clear it). KAM_ENOMEM. */
int svc_layers_answer(struct kam_arena *a, const struct kam_layers *in, bool sensitive, struct kam_layers *out)
	KAM_MUST_CHECK;
/* The rows of account_id within all (every layer ordered by account id): shares all's arrays. */
void svc_layers_slice(const struct kam_layers *all, int64_t account_id, struct kam_layers *out);

#endif
