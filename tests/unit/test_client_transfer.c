/*
 * The pure parts of kam import and kam audit log (client/csv.c, client/timearg.c):
 * CSV as spreadsheets write it, with the line and column of what cannot be read,
 * CSV written so that it reads back, and the points in time --since takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "test.h"

static struct kam_arena arena;

/* Parse all of text; returns how many records, or the error; why gets the message. */
static int parse(const char *text, struct csv_record *out, int max, char *why)
{
	struct csv_reader r;
	int n = 0, rc;

	csv_init(&r, text, strlen(text));
	while (n < max && (rc = csv_next(&r, &arena, &out[n], why, 256)) > 0)
		n++;
	return rc < 0 ? rc : n;
}

TEST(csv_spreadsheet_shapes)
{
	struct csv_record rec[8];
	char why[256];

	kam_arena_init(&arena);
	ASSERT_EQ(parse("\xef\xbb\xbfname,tier\r\nAcme,top\r\n\r\n\"Bolt, Inc.\",\"say \"\"hi\"\"\"\n"
			"\"two\nlines\",,\nlast,x", rec, 8, why), 5);
	ASSERT_EQ(rec[0].n, 2);
	ASSERT_STR_EQ(rec[0].cells[0], "name");
	ASSERT_EQ(rec[1].line, 2);
	ASSERT_STR_EQ(rec[1].cells[1], "top");
	/* The blank line is skipped, and line numbers are the file's. */
	ASSERT_EQ(rec[2].line, 4);
	ASSERT_STR_EQ(rec[2].cells[0], "Bolt, Inc.");
	ASSERT_STR_EQ(rec[2].cells[1], "say \"hi\"");
	ASSERT_EQ(rec[3].line, 5);
	ASSERT_EQ(rec[3].n, 3);
	ASSERT_STR_EQ(rec[3].cells[0], "two\nlines");
	ASSERT_STR_EQ(rec[3].cells[2], "");
	ASSERT_EQ(rec[4].line, 7);
	ASSERT_STR_EQ(rec[4].cells[1], "x");
	kam_arena_free(&arena);
}

TEST(csv_errors_name_line_and_column)
{
	struct csv_record rec[4];
	char why[256];

	kam_arena_init(&arena);
	ASSERT_EQ(parse("a,b\nx,y\"z\n", rec, 4, why), KAM_EINVAL);
	ASSERT_STR_EQ(why, "line 2, column 2: a quote inside an unquoted field (quote the field and double the quote)");
	ASSERT_EQ(parse("a,b\n1,\"open\n\nstill open", rec, 4, why), KAM_EINVAL);
	ASSERT(strstr(why, "line 4, column 2: a quoted field is not closed") == why);
	ASSERT_EQ(parse("a,\"b\"c\n", rec, 4, why), KAM_EINVAL);
	ASSERT_STR_EQ(why, "line 1, column 2: text after the closing quote of a field");
	kam_arena_free(&arena);
}

TEST(csv_written_reads_back)
{
	static const char *const cells[] = { "plain", "a, comma", "a \"quote\"", "two\nlines", " padded ", "" };
	size_t n = sizeof(cells) / sizeof(cells[0]);
	struct csv_record rec[2];
	char buf[512], why[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ASSERT(f != NULL);
	for (size_t i = 0; i < n; i++)
		csv_put(f, cells[i], i + 1 == n);
	fclose(f);
	ASSERT_STR_EQ(buf, "plain,\"a, comma\",\"a \"\"quote\"\"\",\"two\nlines\",\" padded \",\r\n");
	kam_arena_init(&arena);
	ASSERT_EQ(parse(buf, rec, 2, why), 1);
	ASSERT_EQ(rec[0].n, n);
	for (size_t i = 0; i < n; i++)
		ASSERT_STR_EQ(rec[0].cells[i], cells[i]);
	kam_arena_free(&arena);
}

TEST(times)
{
	int64_t now = 1714567800, t = 0;

	ASSERT_EQ(cli_time_parse("@1700000000", now, &t), 0);
	ASSERT_EQ(t, 1700000000);
	ASSERT_EQ(cli_time_parse("2024-05-01T00:00:00Z", now, &t), 0);
	ASSERT_EQ(t, 1714521600);
	ASSERT_EQ(cli_time_parse("2024-05-01 14:30Z", now, &t), 0);
	ASSERT_EQ(t, 1714521600 + 14 * 3600 + 30 * 60);
	ASSERT_EQ(cli_time_parse("15m", now, &t), 0);
	ASSERT_EQ(t, now - 900);
	ASSERT_EQ(cli_time_parse("2h", now, &t), 0);
	ASSERT_EQ(t, now - 7200);
	ASSERT_EQ(cli_time_parse("7d", now, &t), 0);
	ASSERT_EQ(t, now - 7 * 86400);
	/* Local time without the Z: what mktime says for that wall clock. */
	{
		struct tm tm = { .tm_year = 124, .tm_mon = 4, .tm_mday = 1, .tm_isdst = -1 };

		ASSERT_EQ(cli_time_parse("2024-05-01", now, &t), 0);
		ASSERT_EQ(t, (int64_t)mktime(&tm));
	}
	ASSERT_EQ(cli_time_parse("yesterday", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("15", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("-5m", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("2024-13-01", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("2024-05-01 junk", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("@", now, &t), KAM_EINVAL);
	ASSERT_EQ(cli_time_parse("", now, &t), KAM_EINVAL);
}

TEST_MAIN(TEST_ENTRY(csv_spreadsheet_shapes), TEST_ENTRY(csv_errors_name_line_and_column),
	  TEST_ENTRY(csv_written_reads_back), TEST_ENTRY(times))
