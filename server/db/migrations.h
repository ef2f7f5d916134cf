/*
 * The numbered migrations from deploy/sql, embedded at build time
 * (deploy/embed_migrations.cmake), in ascending version order.
 */
#ifndef KAMD_MIGRATIONS_H
#define KAMD_MIGRATIONS_H

struct kam_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct kam_migration kam_migrations[];
extern const int kam_migrations_count;

#endif
