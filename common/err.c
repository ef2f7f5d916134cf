/*
 * Text for KAM's error codes (err.h). Codes outside the KAM range are
 * treated as negated errno values.
 */
#include <string.h>

#include "err.h"

static const char *const kam_err_text[] = {
	[KAM_ENOMEM - KAM_ERR_BASE] = "out of memory",
	[KAM_EINVAL - KAM_ERR_BASE] = "invalid argument",
	[KAM_EPROTO - KAM_ERR_BASE] = "malformed frame or message",
	[KAM_E2BIG - KAM_ERR_BASE] = "frame or field too large",
	[KAM_EAGAIN - KAM_ERR_BASE] = "try again",
	[KAM_ETLS - KAM_ERR_BASE] = "TLS failure",
	[KAM_ECLOSED - KAM_ERR_BASE] = "connection closed by peer",
	[KAM_ENOTFOUND - KAM_ERR_BASE] = "not found",
	[KAM_EFORBIDDEN - KAM_ERR_BASE] = "permission denied",
	[KAM_EUNAUTH - KAM_ERR_BASE] = "not authenticated",
	[KAM_ECONFLICT - KAM_ERR_BASE] = "conflict",
	[KAM_ESTALE - KAM_ERR_BASE] = "stale version",
	[KAM_EUNAVAIL - KAM_ERR_BASE] = "service unavailable",
	[KAM_EINTERNAL - KAM_ERR_BASE] = "internal error",
	[KAM_ECANCELED - KAM_ERR_BASE] = "canceled",
	[KAM_EREPLAYED - KAM_ERR_BASE] = "already applied under this request key",
	[KAM_ERECHECK - KAM_ERR_BASE] = "session to be checked again",
	[KAM_EWATCH - KAM_ERR_BASE] = "read not admitted by the bulk-read watch",
};

const char *kam_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= KAM_ERR_BASE && err < KAM_ERR_LAST)
		return kam_err_text[err - KAM_ERR_BASE];
	if (err < 0)
		return strerror(-err);
	return "unknown error";
}
