/*
 * The codec (msg.h): protobuf-c <-> model.h. Decoding is unpack -> validate
 * -> convert into the caller's arena -> free the unpacked message, in one
 * call per direction; encoding builds protobuf-c structs in a scratch arena
 * around the caller's strings. No protobuf-c type leaves this file; no I/O.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kam/v1/kam.pb-c.h"

#include "frame.h"
#include "msg.h"

/* Our deepest nesting is 5 (Response > AccountListResponse > Account > Information > Int64). */
#define MSG_MAX_DEPTH 8
/*
 * protobuf-c allocates far more than the wire size for tiny sub-messages (a
 * 2-byte empty FieldValue becomes a struct, a pointer and scan bookkeeping:
 * about 45x), so unpacking gets a budget proportional to the payload and a
 * 1 MiB frame can cost at most 32 MiB. Large honest messages need under 8x.
 */
#define MSG_UNPACK_FACTOR 32u
#define MSG_UNPACK_SLACK (64u << 10)
/* Room for a validation message; field names and limits are short. */
#define MSG_WHY_MAX 160

#define TRY(expr)                               \
	do {                                    \
		int rc_ = (expr);               \
		if (rc_ < 0)                    \
			return rc_;             \
	} while (0)

/* ---- unpacking with a bounded allocator ---- */

struct budget {
	size_t left;
};

/*
 * Every unpacked block starts with its size, so that freeing can wipe it:
 * requests carry passwords, and responses tokens (issue 6). A header of
 * max_align_t keeps the block as aligned as malloc's.
 */
#define MSG_BLOCK_HDR sizeof(max_align_t)

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	size_t *p;

	if (size > b->left || size > SIZE_MAX - MSG_BLOCK_HDR)
		return NULL;
	b->left -= size;
	p = malloc(size + MSG_BLOCK_HDR);
	if (!p)
		return NULL;
	*p = size;
	return (char *)p + MSG_BLOCK_HDR;
}

static void budget_free(void *data, void *p)
{
	char *block;

	if (!p)
		return;
	block = (char *)p - MSG_BLOCK_HDR;
	OPENSSL_cleanse(block, *(size_t *)(void *)block + MSG_BLOCK_HDR);
	free(block);
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
				ProtobufCAllocator *alloc, struct budget *b)
{
	b->left = len > (SIZE_MAX - MSG_UNPACK_SLACK) / MSG_UNPACK_FACTOR
		? SIZE_MAX : len * MSG_UNPACK_FACTOR + MSG_UNPACK_SLACK;
	alloc->alloc = budget_alloc;
	alloc->free = budget_free;
	alloc->allocator_data = b;
	return protobuf_c_message_unpack(desc, alloc, len, p);
}

/* ---- decoding state and validation helpers ---- */

struct dec {
	struct kam_arena *a;
	const char *why;     /* after KAM_EINVAL: the problem, one line */
	const char *field;   /* after KAM_EINVAL: the proto field name */
};

static int invalid(struct dec *d, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int invalid(struct dec *d, const char *field, const char *fmt, ...)
{
	char buf[MSG_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d->field = field;
	d->why = kam_arena_strdup(d->a, buf);
	if (!d->why)
		d->why = "invalid request";
	return KAM_EINVAL;
}

/* Copy a string into the arena after checking its length; min 1 makes it required. */
static int take_str(struct dec *d, const char *field, const char *s, size_t min, size_t max, const char **out)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min) {
		if (n == 0)
			return invalid(d, field, "%s is required", field);
		return invalid(d, field, "%s is shorter than %zu bytes", field, min);
	}
	if (n > max)
		return invalid(d, field, "%s is longer than %zu bytes", field, max);
	*out = n ? kam_arena_strndup(d->a, s, n) : "";
	return *out ? 0 : KAM_ENOMEM;
}

/* Unchecked copy, for responses; strings are never NULL after decoding. */
static int copy_str(struct dec *d, const char *s, const char **out)
{
	return take_str(d, "", s, 0, SIZE_MAX - 1, out);
}

/* An enum value in [min, count): returns it, or KAM_EINVAL. min 1 makes it required. */
static int take_enum(struct dec *d, const char *field, int v, int min, int count)
{
	if (v == 0 && min > 0)
		return invalid(d, field, "%s is required", field);
	if (v < min || v >= count)
		return invalid(d, field, "%s is out of range (%d)", field, v);
	return v;
}

static int take_nonneg(struct dec *d, const char *field, int64_t v)
{
	return v < 0 ? invalid(d, field, "%s must not be negative", field) : 0;
}

static int take_count(struct dec *d, const char *field, size_t n)
{
	if (n > KAM_MAX_REPEATED)
		return invalid(d, field, "%s has more than %d entries", field, KAM_MAX_REPEATED);
	return 0;
}

/* ---- strings on the wire: UTF-8 without NUL ---- */

/*
 * protobuf-c hands strings over NUL-terminated without their length and does
 * not check UTF-8, so an embedded NUL would silently cut a name short. The
 * raw bytes are therefore checked here, walking the wire format with the
 * message descriptors: every string field at every depth, once.
 */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return KAM_EPROTO;
}

/* NULL if s[0..n) is strict UTF-8 (no overlongs, surrogates or > U+10FFFF) without NUL. */
static const char *utf8_problem(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t more;
		uint32_t cp, min;

		if (c == 0)
			return "contains a NUL byte";
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return "is not valid UTF-8";
		}
		if (n - i - 1 < more)
			return "is not valid UTF-8";
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return "is not valid UTF-8";
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return "is not valid UTF-8";
		i += more + 1;
	}
	return NULL;
}

static int check_strings(struct dec *d, const ProtobufCMessageDescriptor *desc,
			 const uint8_t *p, size_t len, int depth)
{
	const uint8_t *end = p + len;

	if (depth > MSG_MAX_DEPTH)
		return KAM_EPROTO;
	while (p < end) {
		const ProtobufCFieldDescriptor *fd = NULL;
		const char *problem;
		uint64_t tag, n;

		TRY(get_varint(&p, end, &tag));
		if ((tag >> 3) <= UINT32_MAX)
			fd = protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3));
		switch (tag & 7) {
		case 0: /* varint */
			TRY(get_varint(&p, end, &n));
			break;
		case 1: /* 64-bit */
		case 5: /* 32-bit */
			n = (tag & 7) == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return KAM_EPROTO;
			p += n;
			break;
		case 2: /* length-delimited */
			TRY(get_varint(&p, end, &n));
			if (n > (size_t)(end - p))
				return KAM_EPROTO;
			if (fd && fd->type == PROTOBUF_C_TYPE_STRING && (problem = utf8_problem(p, n)))
				return invalid(d, fd->name, "%s %s", fd->name, problem);
			if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE)
				TRY(check_strings(d, fd->descriptor, p, n, depth + 1));
			p += n;
			break;
		default: /* groups: not proto3 */
			return KAM_EPROTO;
		}
	}
	return 0;
}

/* ---- the oneof body, reached through the envelope's descriptor ---- */

static void *new_msg(struct kam_arena *a, const ProtobufCMessageDescriptor *desc)
{
	void *m = kam_arena_alloc(a, desc->sizeof_message);

	if (m)
		protobuf_c_message_init(desc, m);
	return m;
}

/* Create the body sub-message for oneof field `number` of env and select it. */
static void *body_new(struct kam_arena *a, ProtobufCMessage *env, unsigned number)
{
	const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(env->descriptor, number);
	void *body = new_msg(a, fd->descriptor);

	if (body) {
		*(void **)((char *)env + fd->offset) = body;
		*(uint32_t *)((char *)env + fd->quantifier_offset) = number;
	}
	return body;
}

static const void *body_get(const ProtobufCMessage *env, unsigned number)
{
	const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(env->descriptor, number);

	return *(const void *const *)((const char *)env + fd->offset);
}

/* protobuf-c wants char * for strings it only reads; NULL means "". */
static char *wire_str(const char *s)
{
	return (char *)(s ? s : "");
}

/* ---- shared sub-messages ---- */

static int user_to_pb(struct kam_arena *a, const struct kam_user *u, Kam__V1__User **out)
{
	Kam__V1__User *m = new_msg(a, &kam__v1__user__descriptor);

	if (!m)
		return KAM_ENOMEM;
	m->id = u->id;
	m->username = wire_str(u->username);
	m->role = (Kam__V1__Role)u->role;
	m->reports_to = wire_str(u->reports_to);
	m->active = u->active;
	m->created_at = u->created_at;
	*out = m;
	return 0;
}

static int user_from_pb(struct dec *d, const Kam__V1__User *m, struct kam_user *u)
{
	int v;

	if (!m)
		return KAM_EPROTO;
	TRY(v = take_enum(d, "role", m->role, 0, KAM_ROLE__COUNT));
	u->role = (enum kam_role)v;
	u->id = m->id;
	u->active = m->active;
	u->created_at = m->created_at;
	TRY(copy_str(d, m->username, &u->username));
	TRY(copy_str(d, m->reports_to, &u->reports_to));
	return 0;
}

static int opt_to_pb(struct kam_arena *a, struct kam_opt_i64 v, Kam__V1__Int64 **out)
{
	*out = NULL;
	if (!v.has)
		return 0;
	if (!(*out = new_msg(a, &kam__v1__int64__descriptor)))
		return KAM_ENOMEM;
	(*out)->value = v.value;
	return 0;
}

static struct kam_opt_i64 opt_from_pb(const Kam__V1__Int64 *m)
{
	return (struct kam_opt_i64){ .has = m != NULL, .value = m ? m->value : 0 };
}

static int info_to_pb(struct kam_arena *a, const struct kam_info *in, Kam__V1__Information **out)
{
	Kam__V1__Information *m = new_msg(a, &kam__v1__information__descriptor);

	if (!m)
		return KAM_ENOMEM;
	TRY(opt_to_pb(a, in->founded, &m->founded));
	TRY(opt_to_pb(a, in->headcount, &m->headcount));
	TRY(opt_to_pb(a, in->revenue, &m->revenue));
	TRY(opt_to_pb(a, in->budget, &m->budget));
	m->business = wire_str(in->business);
	m->currency = wire_str(in->currency);
	m->suppliers = wire_str(in->suppliers);
	m->notes = wire_str(in->notes);
	*out = m;
	return 0;
}

static int info_from_pb(struct dec *d, const Kam__V1__Information *m, struct kam_info *in)
{
	in->founded = opt_from_pb(m->founded);
	in->headcount = opt_from_pb(m->headcount);
	in->revenue = opt_from_pb(m->revenue);
	in->budget = opt_from_pb(m->budget);
	TRY(copy_str(d, m->business, &in->business));
	TRY(copy_str(d, m->currency, &in->currency));
	TRY(copy_str(d, m->suppliers, &in->suppliers));
	TRY(copy_str(d, m->notes, &in->notes));
	return 0;
}

static int account_to_pb(struct kam_arena *a, const struct kam_account *acc, Kam__V1__Account **out)
{
	Kam__V1__Account *m = new_msg(a, &kam__v1__account__descriptor);

	if (!m)
		return KAM_ENOMEM;
	m->id = acc->id;
	m->name = wire_str(acc->name);
	m->tier = (Kam__V1__Tier)acc->tier;
	m->stage = (Kam__V1__Stage)acc->stage;
	m->strategy = (Kam__V1__Strategy)acc->strategy;
	m->owner = wire_str(acc->owner);
	m->created_at = acc->created_at;
	m->updated_at = acc->updated_at;
	m->version = acc->version;
	if (acc->n_team) {
		if (acc->n_team > SIZE_MAX / sizeof(char *) || !(m->team = kam_arena_alloc(a, acc->n_team * sizeof(char *))))
			return KAM_ENOMEM;
		for (size_t i = 0; i < acc->n_team; i++)
			m->team[i] = wire_str(acc->team[i]);
		m->n_team = acc->n_team;
	}
	if (acc->has_info)
		TRY(info_to_pb(a, &acc->info, &m->info));
	*out = m;
	return 0;
}

static int account_from_pb(struct dec *d, const Kam__V1__Account *m, struct kam_account *acc)
{
	int v;

	if (!m)
		return KAM_EPROTO;
	acc->id = m->id;
	TRY(v = take_enum(d, "tier", m->tier, 0, KAM_TIER__COUNT));
	acc->tier = (enum kam_tier)v;
	TRY(v = take_enum(d, "stage", m->stage, 0, KAM_STAGE__COUNT));
	acc->stage = (enum kam_stage)v;
	TRY(v = take_enum(d, "strategy", m->strategy, 0, KAM_STRATEGY__COUNT));
	acc->strategy = (enum kam_strategy)v;
	acc->created_at = m->created_at;
	acc->updated_at = m->updated_at;
	acc->version = m->version;
	TRY(copy_str(d, m->name, &acc->name));
	TRY(copy_str(d, m->owner, &acc->owner));
	if (m->n_team) {
		if (!(acc->team = kam_arena_alloc(d->a, m->n_team * sizeof(char *))))
			return KAM_ENOMEM;
		for (size_t i = 0; i < m->n_team; i++)
			TRY(copy_str(d, m->team[i], &acc->team[i]));
		acc->n_team = m->n_team;
	}
	acc->has_info = m->info != NULL;
	if (m->info)
		TRY(info_from_pb(d, m->info, &acc->info));
	return 0;
}

/* ---- request bodies: one decoder and one encoder per message type ---- */

/* assign and unassign share one shape; one converter serves both. */
_Static_assert(offsetof(Kam__V1__AccountAssignRequest, account) == offsetof(Kam__V1__AccountUnassignRequest, account) &&
	       offsetof(Kam__V1__AccountAssignRequest, username) == offsetof(Kam__V1__AccountUnassignRequest, username) &&
	       sizeof(Kam__V1__AccountAssignRequest) == sizeof(Kam__V1__AccountUnassignRequest),
	       "assign and unassign requests differ");

static int dec_login(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__LoginRequest *m = body;

	TRY(take_str(d, "username", m->username, 1, KAM_MAX_USERNAME, &r->u.login.username));
	TRY(take_str(d, "password", m->password, 1, KAM_MAX_PASSWORD, &r->u.login.password));
	return 0;
}

static int enc_login(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__LoginRequest *m = body;

	m->username = wire_str(r->u.login.username);
	m->password = wire_str(r->u.login.password);
	return 0;
}

static int dec_user_add(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__UserAddRequest *m = body;
	int v;

	TRY(take_str(d, "username", m->username, 1, KAM_MAX_USERNAME, &r->u.user_add.username));
	TRY(v = take_enum(d, "role", m->role, 1, KAM_ROLE__COUNT));
	r->u.user_add.role = (enum kam_role)v;
	TRY(take_str(d, "reports_to", m->reports_to, 0, KAM_MAX_USERNAME, &r->u.user_add.reports_to));
	TRY(take_str(d, "password", m->password, KAM_MIN_PASSWORD, KAM_MAX_PASSWORD, &r->u.user_add.password));
	return 0;
}

static int enc_user_add(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__UserAddRequest *m = body;

	m->username = wire_str(r->u.user_add.username);
	m->role = (Kam__V1__Role)r->u.user_add.role;
	m->reports_to = wire_str(r->u.user_add.reports_to);
	m->password = wire_str(r->u.user_add.password);
	return 0;
}

static int dec_account_add(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__AccountAddRequest *m = body;
	int v;

	TRY(take_str(d, "name", m->name, 1, KAM_MAX_NAME, &r->u.account_add.name));
	TRY(v = take_enum(d, "tier", m->tier, 1, KAM_TIER__COUNT));
	r->u.account_add.tier = (enum kam_tier)v;
	TRY(take_str(d, "owner", m->owner, 0, KAM_MAX_USERNAME, &r->u.account_add.owner));
	return 0;
}

static int enc_account_add(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__AccountAddRequest *m = body;

	m->name = wire_str(r->u.account_add.name);
	m->tier = (Kam__V1__Tier)r->u.account_add.tier;
	m->owner = wire_str(r->u.account_add.owner);
	return 0;
}

/* A limit of 0 means the server default, resolved here so handlers always see 1..KAM_LIST_MAX. */
static int dec_account_list(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__AccountListRequest *m = body;
	int v;

	TRY(v = take_enum(d, "tier", m->tier, 0, KAM_TIER__COUNT));
	r->u.account_list.tier = (enum kam_tier)v;
	TRY(v = take_enum(d, "stage", m->stage, 0, KAM_STAGE__COUNT));
	r->u.account_list.stage = (enum kam_stage)v;
	TRY(take_str(d, "owner", m->owner, 0, KAM_MAX_USERNAME, &r->u.account_list.owner));
	TRY(take_nonneg(d, "after_id", m->after_id));
	r->u.account_list.after_id = m->after_id;
	if (m->limit > KAM_LIST_MAX)
		return invalid(d, "limit", "limit is above %d", KAM_LIST_MAX);
	r->u.account_list.limit = m->limit ? m->limit : KAM_LIST_DEFAULT;
	return 0;
}

static int enc_account_list(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__AccountListRequest *m = body;

	m->tier = (Kam__V1__Tier)r->u.account_list.tier;
	m->stage = (Kam__V1__Stage)r->u.account_list.stage;
	m->owner = wire_str(r->u.account_list.owner);
	m->after_id = r->u.account_list.after_id;
	m->limit = r->u.account_list.limit;
	return 0;
}

static int dec_account_show(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__AccountShowRequest *m = body;

	return take_str(d, "account", m->account, 1, KAM_MAX_NAME, &r->u.account_show.account);
}

static int enc_account_show(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__AccountShowRequest *m = body;

	m->account = wire_str(r->u.account_show.account);
	return 0;
}

/* FieldValue lists (account_set and the layer ops): names 1..32 bytes, values at most KAM_MAX_TEXT. */
static int take_fields(struct dec *d, Kam__V1__FieldValue *const *fv, size_t n, struct kam_field **out,
		       size_t *n_out)
{
	struct kam_field *f;

	*out = NULL;
	*n_out = 0;
	TRY(take_count(d, "fields", n));
	if (n == 0)
		return 0;
	if (!(f = kam_arena_alloc(d->a, n * sizeof(*f))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		TRY(take_str(d, "name", fv[i]->name, 1, KAM_MAX_FIELD_NAME, &f[i].name));
		/* Name the field in the message: "value" alone would not tell which. */
		if (strlen(fv[i]->value) > KAM_MAX_TEXT)
			return invalid(d, "value", "value of %s is longer than %d bytes", f[i].name, KAM_MAX_TEXT);
		TRY(copy_str(d, fv[i]->value, &f[i].value));
	}
	*out = f;
	*n_out = n;
	return 0;
}

static int fields_to_pb(struct kam_arena *a, const struct kam_field *f, size_t n, Kam__V1__FieldValue ***out,
			size_t *n_out)
{
	Kam__V1__FieldValue **fvs;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*fvs) || !(fvs = kam_arena_alloc(a, n * sizeof(*fvs))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(fvs[i] = new_msg(a, &kam__v1__field_value__descriptor)))
			return KAM_ENOMEM;
		fvs[i]->name = wire_str(f[i].name);
		fvs[i]->value = wire_str(f[i].value);
	}
	*out = fvs;
	*n_out = n;
	return 0;
}

static int dec_account_set(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__AccountSetRequest *m = body;

	TRY(take_str(d, "account", m->account, 1, KAM_MAX_NAME, &r->u.account_set.account));
	if (m->n_fields == 0)
		return invalid(d, "fields", "fields is required: nothing to set");
	TRY(take_fields(d, m->fields, m->n_fields, &r->u.account_set.fields, &r->u.account_set.n_fields));
	TRY(take_nonneg(d, "if_version", m->if_version));
	r->u.account_set.if_version = m->if_version;
	return 0;
}

static int enc_account_set(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__AccountSetRequest *m = body;

	m->account = wire_str(r->u.account_set.account);
	m->if_version = r->u.account_set.if_version;
	return fields_to_pb(a, r->u.account_set.fields, r->u.account_set.n_fields, &m->fields, &m->n_fields);
}

static int dec_account_member(struct dec *d, const void *body, struct kam_request *r)
{
	const Kam__V1__AccountAssignRequest *m = body;

	TRY(take_str(d, "account", m->account, 1, KAM_MAX_NAME, &r->u.account_member.account));
	TRY(take_str(d, "username", m->username, 1, KAM_MAX_USERNAME, &r->u.account_member.username));
	return 0;
}

static int enc_account_member(struct kam_arena *a, const struct kam_request *r, void *body)
{
	Kam__V1__AccountAssignRequest *m = body;

	m->account = wire_str(r->u.account_member.account);
	m->username = wire_str(r->u.account_member.username);
	return 0;
}

/* ---- response bodies ---- */

/* The five account-bodied responses share one shape ({ Account account = 1; }); one converter serves all. */
#define SAME_AS_SHOW(T) (offsetof(T, account) == offsetof(Kam__V1__AccountShowResponse, account) && \
			 sizeof(T) == sizeof(Kam__V1__AccountShowResponse))
_Static_assert(SAME_AS_SHOW(Kam__V1__AccountAddResponse) && SAME_AS_SHOW(Kam__V1__AccountSetResponse) &&
	       SAME_AS_SHOW(Kam__V1__AccountAssignResponse) && SAME_AS_SHOW(Kam__V1__AccountUnassignResponse),
	       "account responses differ");

static int dec_login_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__LoginResponse *m = body;

	if (m->token.len != KAM_TOKEN_LEN)
		return KAM_EPROTO;
	memcpy(r->u.login.token, m->token.data, KAM_TOKEN_LEN);
	r->u.login.expires_at = m->expires_at;
	return user_from_pb(d, m->user, &r->u.login.user);
}

static int enc_login_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__LoginResponse *m = body;

	m->token.len = KAM_TOKEN_LEN;
	m->token.data = (uint8_t *)r->u.login.token;
	m->expires_at = r->u.login.expires_at;
	return user_to_pb(a, &r->u.login.user, &m->user);
}

static int dec_whoami_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__WhoamiResponse *m = body;

	r->u.whoami.expires_at = m->expires_at;
	return user_from_pb(d, m->user, &r->u.whoami.user);
}

static int enc_whoami_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__WhoamiResponse *m = body;

	m->expires_at = r->u.whoami.expires_at;
	return user_to_pb(a, &r->u.whoami.user, &m->user);
}

static int dec_user_add_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__UserAddResponse *m = body;

	return user_from_pb(d, m->user, &r->u.user);
}

static int enc_user_add_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__UserAddResponse *m = body;

	return user_to_pb(a, &r->u.user, &m->user);
}

static int dec_user_list_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__UserListResponse *m = body;

	if (m->n_users == 0)
		return 0;
	if (!(r->u.user_list.users = kam_arena_alloc(d->a, m->n_users * sizeof(struct kam_user))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < m->n_users; i++)
		TRY(user_from_pb(d, m->users[i], &r->u.user_list.users[i]));
	r->u.user_list.n = m->n_users;
	return 0;
}

static int enc_user_list_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__UserListResponse *m = body;
	size_t n = r->u.user_list.n;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*m->users) || !(m->users = kam_arena_alloc(a, n * sizeof(*m->users))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < n; i++)
		TRY(user_to_pb(a, &r->u.user_list.users[i], &m->users[i]));
	m->n_users = n;
	return 0;
}

static int dec_account_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__AccountShowResponse *m = body;

	return account_from_pb(d, m->account, &r->u.account);
}

static int enc_account_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__AccountShowResponse *m = body;

	return account_to_pb(a, &r->u.account, &m->account);
}

static int dec_account_list_resp(struct dec *d, const void *body, struct kam_response *r)
{
	const Kam__V1__AccountListResponse *m = body;

	r->u.account_list.next_after_id = m->next_after_id;
	if (m->n_accounts == 0)
		return 0;
	if (!(r->u.account_list.accounts = kam_arena_alloc(d->a, m->n_accounts * sizeof(struct kam_account))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < m->n_accounts; i++)
		TRY(account_from_pb(d, m->accounts[i], &r->u.account_list.accounts[i]));
	r->u.account_list.n = m->n_accounts;
	return 0;
}

static int enc_account_list_resp(struct kam_arena *a, const struct kam_response *r, void *body)
{
	Kam__V1__AccountListResponse *m = body;
	size_t n = r->u.account_list.n;

	m->next_after_id = r->u.account_list.next_after_id;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*m->accounts) || !(m->accounts = kam_arena_alloc(a, n * sizeof(*m->accounts))))
		return KAM_ENOMEM;
	for (size_t i = 0; i < n; i++)
		TRY(account_to_pb(a, &r->u.account_list.accounts[i], &m->accounts[i]));
	m->n_accounts = n;
	return 0;
}

/* -- layers (issue 3): the bodies of the layer operations -- */
#include "msg_layers.inc"

/* ---- hostile clients (issue 6): user passwd, user unlock ---- */
#include "msg_hostile.inc"

/* ---- the op table: one row per oneof member, the same number in Request and Response ---- */

#define SAME_CASE(X) _Static_assert((int)KAM__V1__REQUEST__BODY_##X == (int)KAM__V1__RESPONSE__BODY_##X, #X)
SAME_CASE(LOGIN); SAME_CASE(LOGOUT); SAME_CASE(WHOAMI); SAME_CASE(USER_ADD); SAME_CASE(USER_LIST);
SAME_CASE(ACCOUNT_ADD); SAME_CASE(ACCOUNT_LIST); SAME_CASE(ACCOUNT_SHOW); SAME_CASE(ACCOUNT_SET);
SAME_CASE(ACCOUNT_ASSIGN); SAME_CASE(ACCOUNT_UNASSIGN);
SAME_CASE(USER_PASSWD); SAME_CASE(USER_UNLOCK);   /* hostile clients (issue 6) */

/* -- audit and churn (issue 4): the bodies of the audit, hand-over, export and import operations -- */
#include "msg_audit.inc"

/*
 * NULL converters: the body is an empty message. kind (issue 7, model.h): READ
 * ops may be sent again as they are, WRITE ops only with the same request key;
 * ONCE ops never: a login (a password, a new session), an export (its pages
 * continue a server-side export of one connection), a password change (a
 * second attempt checks the current password the first one may have changed).
 */
static const struct op_codec {
	unsigned number;
	int (*req_dec)(struct dec *d, const void *body, struct kam_request *r);
	int (*req_enc)(struct kam_arena *a, const struct kam_request *r, void *body);
	int (*resp_dec)(struct dec *d, const void *body, struct kam_response *r);
	int (*resp_enc)(struct kam_arena *a, const struct kam_response *r, void *body);
	enum kam_op_kind kind;
} ops[KAM_OP__COUNT] = {
	[KAM_OP_LOGIN] = { KAM__V1__REQUEST__BODY_LOGIN, dec_login, enc_login, dec_login_resp, enc_login_resp,
			   KAM_OP_KIND_ONCE },
	[KAM_OP_LOGOUT] = { KAM__V1__REQUEST__BODY_LOGOUT, NULL, NULL, NULL, NULL, KAM_OP_KIND_WRITE },
	[KAM_OP_WHOAMI] = { KAM__V1__REQUEST__BODY_WHOAMI, NULL, NULL, dec_whoami_resp, enc_whoami_resp,
			    KAM_OP_KIND_READ },
	[KAM_OP_USER_ADD] = { KAM__V1__REQUEST__BODY_USER_ADD, dec_user_add, enc_user_add,
			      dec_user_add_resp, enc_user_add_resp, KAM_OP_KIND_WRITE },
	[KAM_OP_USER_LIST] = { KAM__V1__REQUEST__BODY_USER_LIST, NULL, NULL, dec_user_list_resp, enc_user_list_resp,
			       KAM_OP_KIND_READ },
	[KAM_OP_ACCOUNT_ADD] = { KAM__V1__REQUEST__BODY_ACCOUNT_ADD, dec_account_add, enc_account_add,
				 dec_account_resp, enc_account_resp, KAM_OP_KIND_WRITE },
	[KAM_OP_ACCOUNT_LIST] = { KAM__V1__REQUEST__BODY_ACCOUNT_LIST, dec_account_list, enc_account_list,
				  dec_account_list_resp, enc_account_list_resp, KAM_OP_KIND_READ },
	[KAM_OP_ACCOUNT_SHOW] = { KAM__V1__REQUEST__BODY_ACCOUNT_SHOW, dec_account_show, enc_account_show,
				  dec_account_resp, enc_account_resp, KAM_OP_KIND_READ },
	[KAM_OP_ACCOUNT_SET] = { KAM__V1__REQUEST__BODY_ACCOUNT_SET, dec_account_set, enc_account_set,
				 dec_account_resp, enc_account_resp, KAM_OP_KIND_WRITE },
	[KAM_OP_ACCOUNT_ASSIGN] = { KAM__V1__REQUEST__BODY_ACCOUNT_ASSIGN, dec_account_member, enc_account_member,
				    dec_account_resp, enc_account_resp, KAM_OP_KIND_WRITE },
	[KAM_OP_ACCOUNT_UNASSIGN] = { KAM__V1__REQUEST__BODY_ACCOUNT_UNASSIGN, dec_account_member, enc_account_member,
				      dec_account_resp, enc_account_resp, KAM_OP_KIND_WRITE },
	/* -- layers (issue 3) -- */
	MSG_LAYER_OPS
	/* -- audit and churn (issue 4) -- */
	MSG_AUDIT_OPS
	/* -- hostile clients (issue 6) -- */
	[KAM_OP_USER_PASSWD] = { KAM__V1__REQUEST__BODY_USER_PASSWD, dec_user_passwd, enc_user_passwd,
				 dec_user_passwd_resp, enc_user_passwd_resp, KAM_OP_KIND_ONCE },
	[KAM_OP_USER_UNLOCK] = { KAM__V1__REQUEST__BODY_USER_UNLOCK, dec_user_unlock, enc_user_unlock,
				 dec_user_unlock_resp, enc_user_unlock_resp, KAM_OP_KIND_WRITE },
};

enum kam_op_kind kam_op_kind(enum kam_op op)
{
	return op > KAM_OP_NONE && op < KAM_OP__COUNT ? ops[op].kind : KAM_OP_KIND_NONE;
}

static enum kam_op op_of_case(unsigned number)
{
	for (int op = KAM_OP_NONE + 1; op < KAM_OP__COUNT; op++)
		if (ops[op].number == number)
			return (enum kam_op)op;
	return KAM_OP_NONE;
}

static int op_valid(enum kam_op op)
{
	return op > KAM_OP_NONE && op < KAM_OP__COUNT;
}

/* Append the packed message, after a frame header if framed. */
static int pack_into(const ProtobufCMessage *m, struct kam_buf *out, int framed)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	size_t hdr = framed ? KAM_FRAME_HEADER_LEN : 0;

	if (n > UINT32_MAX)
		return KAM_E2BIG;
	TRY(kam_buf_reserve(out, hdr + n));
	if (framed)
		frame_put_header(out->data + out->len, (uint32_t)n);
	protobuf_c_message_pack(m, out->data + out->len + hdr);
	out->len += hdr + n;
	return 0;
}

/* ---- requests ---- */

int msg_request_decode(const uint8_t *payload, size_t len, struct kam_arena *a,
		       struct kam_request *out, const char **why, const char **field)
{
	struct dec d = { .a = a, .why = NULL, .field = NULL };
	ProtobufCAllocator alloc;
	struct budget budget;
	Kam__V1__Request *m;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (why)
		*why = NULL;
	if (field)
		*field = NULL;
	m = (Kam__V1__Request *)unpack(&kam__v1__request__descriptor, payload, len, &alloc, &budget);
	if (!m) {
		if (why)
			*why = "not a kam.v1.Request message";
		return KAM_EPROTO;
	}
	out->id = m->id;
	out->op = op_of_case(m->body_case);
	if (out->op == KAM_OP_NONE) {
		rc = invalid(&d, "body", "empty request");
		goto done;
	}
	if (m->token.len == KAM_TOKEN_LEN) {
		out->has_token = true;
		memcpy(out->token, m->token.data, KAM_TOKEN_LEN);
	} else if (m->token.len != 0) {
		rc = invalid(&d, "token", "token must be empty or %d bytes", KAM_TOKEN_LEN);
		goto done;
	}
	/* Issue 7: the idempotency key, bounded before it is copied. */
	if (m->request_key.len != 0 &&
	    (m->request_key.len < KAM_REQUEST_KEY_MIN || m->request_key.len > KAM_REQUEST_KEY_MAX)) {
		rc = invalid(&d, "request_key", "request_key must be empty or %d to %d bytes (got %zu)",
			     KAM_REQUEST_KEY_MIN, KAM_REQUEST_KEY_MAX, m->request_key.len);
		goto done;
	}
	out->key_len = m->request_key.len;
	if (out->key_len)
		memcpy(out->key, m->request_key.data, out->key_len);
	if ((rc = check_strings(&d, &kam__v1__request__descriptor, payload, len, 0)) < 0)
		goto done;
	if (ops[out->op].req_dec)
		rc = ops[out->op].req_dec(&d, body_get(&m->base, ops[out->op].number), out);
done:
	protobuf_c_message_free_unpacked(&m->base, &alloc);
	if (rc == KAM_EINVAL) {
		if (why)
			*why = d.why;
		if (field)
			*field = d.field;
	}
	return rc;
}

static int request_encode(const struct kam_request *req, struct kam_buf *out, int framed)
{
	Kam__V1__Request m = KAM__V1__REQUEST__INIT;
	struct kam_arena scratch;
	void *body;
	int rc;

	if (!op_valid(req->op) || req->key_len > KAM_REQUEST_KEY_MAX)
		return KAM_EINVAL;
	kam_arena_init(&scratch);
	m.id = req->id;
	if (req->has_token) {
		m.token.len = KAM_TOKEN_LEN;
		m.token.data = (uint8_t *)req->token;
	}
	m.request_key.len = req->key_len;
	m.request_key.data = (uint8_t *)req->key;
	if (!(body = body_new(&scratch, &m.base, ops[req->op].number))) {
		rc = KAM_ENOMEM;
		goto done;
	}
	if (ops[req->op].req_enc && (rc = ops[req->op].req_enc(&scratch, req, body)) < 0)
		goto done;
	rc = pack_into(&m.base, out, framed);
done:
	kam_arena_free(&scratch);
	return rc;
}

int msg_request_encode(const struct kam_request *req, struct kam_buf *out)
{
	return request_encode(req, out, 0);
}

int msg_request_encode_frame(const struct kam_request *req, struct kam_buf *out)
{
	return request_encode(req, out, 1);
}

/* ---- responses ---- */

int msg_response_encode_frame(const struct kam_response *resp, struct kam_buf *out)
{
	Kam__V1__Response m = KAM__V1__RESPONSE__INIT;
	struct kam_arena scratch;
	void *body;
	int rc = KAM_ENOMEM;

	if (resp->op != KAM_OP_NONE && !op_valid(resp->op))
		return KAM_EINVAL;
	kam_arena_init(&scratch);
	m.id = resp->id;
	m.replayed = resp->replayed;
	if (resp->error.code != KAM_STATUS_OK) {
		Kam__V1__Error *e = new_msg(&scratch, &kam__v1__error__descriptor);

		if (!e)
			goto done;
		e->code = (Kam__V1__ErrorCode)resp->error.code;
		e->message = wire_str(resp->error.message);
		e->field = wire_str(resp->error.field);
		m.error = e;
	}
	if (resp->op != KAM_OP_NONE) {
		if (!(body = body_new(&scratch, &m.base, ops[resp->op].number)))
			goto done;
		if (ops[resp->op].resp_enc && (rc = ops[resp->op].resp_enc(&scratch, resp, body)) < 0)
			goto done;
	}
	rc = pack_into(&m.base, out, 1);
done:
	kam_arena_free(&scratch);
	return rc;
}

int msg_response_decode(const uint8_t *payload, size_t len, struct kam_arena *a,
			struct kam_response *out)
{
	struct dec d = { .a = a, .why = NULL, .field = NULL };
	ProtobufCAllocator alloc;
	struct budget budget;
	Kam__V1__Response *m;
	int rc;

	memset(out, 0, sizeof(*out));
	m = (Kam__V1__Response *)unpack(&kam__v1__response__descriptor, payload, len, &alloc, &budget);
	if (!m)
		return KAM_EPROTO;
	out->id = m->id;
	out->op = op_of_case(m->body_case);
	out->replayed = m->replayed;
	out->error.code = m->error ? (enum kam_status)m->error->code : KAM_STATUS_OK;
	if ((rc = check_strings(&d, &kam__v1__response__descriptor, payload, len, 0)) < 0)
		goto done;
	if ((rc = copy_str(&d, m->error ? m->error->message : "", &out->error.message)) < 0 ||
	    (rc = copy_str(&d, m->error ? m->error->field : "", &out->error.field)) < 0)
		goto done;
	if (out->op != KAM_OP_NONE && ops[out->op].resp_dec)
		rc = ops[out->op].resp_dec(&d, body_get(&m->base, ops[out->op].number), out);
done:
	protobuf_c_message_free_unpacked(&m->base, &alloc);
	/* Whatever the server sent that we cannot take is a protocol error for the client. */
	return rc == KAM_EINVAL ? KAM_EPROTO : rc;
}
