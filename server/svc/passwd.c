/*
 * argon2id password hashing for logins, user creation and --bootstrap-gm,
 * and reading the costs back out of a stored PHC string. Blocking (tens of
 * milliseconds to seconds): call only from a worker thread or at start-up.
 * Never logs or keeps a password; the caller wipes its buffer.
 */
#include <argon2.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "passwd.h"

int svc_password_hash(const struct svc_config *cfg, const char *password, char *out, size_t out_len)
{
	uint8_t salt[SVC_SALT_LEN];
	int rc;

	if (!cfg || !password || !out ||
	    out_len < argon2_encodedlen(cfg->argon2_t, cfg->argon2_m_kib, cfg->argon2_p,
					SVC_SALT_LEN, SVC_HASH_LEN, Argon2_id))
		return KAM_EINVAL;
	rc = kam_random_bytes(salt, sizeof(salt));
	if (rc < 0)
		return rc;
	rc = argon2id_hash_encoded(cfg->argon2_t, cfg->argon2_m_kib, cfg->argon2_p,
				   password, strlen(password), salt, sizeof(salt), SVC_HASH_LEN,
				   out, out_len);
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		return KAM_ENOMEM;
	return rc == ARGON2_OK ? 0 : KAM_EINVAL;
}

/* Read "KEY=<decimal>" at *s and advance past it. */
static int phc_param(const char **s, const char *key, uint32_t *out)
{
	size_t klen = strlen(key);
	char *end;
	unsigned long v;

	if (strncmp(*s, key, klen) != 0 || (*s)[klen] < '0' || (*s)[klen] > '9')
		return KAM_EINVAL;
	v = strtoul(*s + klen, &end, 10);
	if (v > UINT32_MAX)
		return KAM_EINVAL;
	*out = (uint32_t)v;
	*s = end;
	return 0;
}

int svc_phc_params(const char *phc, uint32_t *m_kib, uint32_t *t, uint32_t *p)
{
	static const char prefix[] = "$argon2id$";
	const char *s = phc;
	uint32_t version;

	if (!phc || strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return KAM_EINVAL;
	s += sizeof(prefix) - 1;
	/* The version field is optional in PHC strings from argon2 1.0. */
	if (strncmp(s, "v=", 2) == 0) {
		if (phc_param(&s, "v=", &version) < 0 || *s++ != '$')
			return KAM_EINVAL;
	}
	if (phc_param(&s, "m=", m_kib) < 0 || *s++ != ',' ||
	    phc_param(&s, "t=", t) < 0 || *s++ != ',' ||
	    phc_param(&s, "p=", p) < 0 || *s != '$')
		return KAM_EINVAL;
	return 0;
}

bool svc_phc_needs_rehash(const char *phc, const struct svc_config *cfg)
{
	uint32_t m, t, p;

	if (svc_phc_params(phc, &m, &t, &p) < 0)
		return true;
	return m < cfg->argon2_m_kib || t < cfg->argon2_t || p < cfg->argon2_p;
}
