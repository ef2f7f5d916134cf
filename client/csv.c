/*
 * CSV as spreadsheets write it (RFC 4180): fields separated by commas, quoted
 * with double quotes when they hold a comma, a quote or a line break, quotes
 * doubled inside; CRLF or LF line ends; a UTF-8 byte-order mark is skipped.
 * Reading reports the line and column of what it cannot parse. Pure: the
 * caller owns the file's bytes and the output stream.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"

void csv_init(struct csv_reader *r, const char *data, size_t len)
{
	static const char bom[] = "\xef\xbb\xbf";

	r->p = data;
	r->end = data + len;
	r->line = 1;
	if (len >= 3 && memcmp(data, bom, 3) == 0)
		r->p += 3;
}

/* Append a cell to the record being built. */
static int add_cell(struct kam_arena *a, struct csv_record *rec, struct kam_buf *cell)
{
	char **cells;
	char *copy;

	if (rec->n == CSV_MAX_CELLS)
		return KAM_E2BIG;
	if (rec->n % 16 == 0) {
		cells = kam_arena_alloc(a, (rec->n + 16) * sizeof(*cells));
		if (!cells)
			return KAM_ENOMEM;
		if (rec->n)
			memcpy(cells, rec->cells, rec->n * sizeof(*cells));
		rec->cells = cells;
	}
	copy = kam_arena_strndup(a, cell->len ? (const char *)cell->data : "", cell->len);
	if (!copy)
		return KAM_ENOMEM;
	rec->cells[rec->n++] = copy;
	kam_buf_reset(cell);
	return 0;
}

static int fail(char *why, size_t why_len, unsigned line, unsigned col, const char *what)
{
	snprintf(why, why_len, "line %u, column %u: %s", line, col, what);
	return KAM_EINVAL;
}

int csv_next(struct csv_reader *r, struct kam_arena *a, struct csv_record *rec, char *why, size_t why_len)
{
	struct kam_buf cell;
	bool quoted = false, after_quote = false;
	unsigned col = 1;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	/* Blank lines between records are no records. */
	while (r->p < r->end && (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'))) {
		r->p += *r->p == '\r' ? 2 : 1;
		r->line++;
	}
	if (r->p >= r->end)
		return 0;
	rec->line = r->line;
	kam_buf_init(&cell);
	while (rc == 0) {
		char ch;

		if (r->p >= r->end) {
			if (quoted)
				rc = fail(why, why_len, r->line, col, "a quoted field is not closed before the end of the file");
			else
				rc = add_cell(a, rec, &cell);
			break;
		}
		ch = *r->p++;
		if (quoted) {
			if (ch == '"' && r->p < r->end && *r->p == '"') {
				r->p++;
				rc = kam_buf_append(&cell, "\"", 1);
			} else if (ch == '"') {
				quoted = false;
				after_quote = true;
			} else {
				if (ch == '\n')
					r->line++;
				rc = kam_buf_append(&cell, &ch, 1);
			}
			continue;
		}
		if (ch == ',') {
			rc = add_cell(a, rec, &cell);
			col++;
			after_quote = false;
			continue;
		}
		if (ch == '\n' || (ch == '\r' && r->p < r->end && *r->p == '\n')) {
			r->p += ch == '\r' ? 1 : 0;
			r->line++;
			rc = add_cell(a, rec, &cell);
			break;
		}
		if (after_quote) {
			rc = fail(why, why_len, r->line, col, "text after the closing quote of a field");
		} else if (ch == '"' && cell.len == 0) {
			quoted = true;
		} else if (ch == '"') {
			rc = fail(why, why_len, r->line, col, "a quote inside an unquoted field (quote the field and double the quote)");
		} else {
			rc = kam_buf_append(&cell, &ch, 1);
		}
	}
	kam_buf_free(&cell);
	if (rc == KAM_E2BIG)
		rc = fail(why, why_len, rec->line, col, "more columns than a spreadsheet export has");
	return rc < 0 ? rc : 1;
}

void csv_put(FILE *f, const char *s, bool last)
{
	bool quote = s[strcspn(s, ",\"\r\n")] != '\0' || (s[0] == ' ' || (*s && s[strlen(s) - 1] == ' '));

	if (quote) {
		fputc('"', f);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputs(last ? "\r\n" : ",", f);
}
