/*
 * Reading from the person at the keyboard: passwords from /dev/tty with echo
 * off (restored even when interrupted), or one line from stdin for scripts;
 * and yes/no questions. Passwords are read byte by byte into the caller's
 * buffer, never through stdio's buffers, and never come from argv.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"

/* Signals after which the terminal must get its echo back before we die. */
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

/* The terminal settings to restore from a signal handler. */
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

bool prompt_interactive(void)
{
	return isatty(0) && isatty(2);
}

static void restore_on_signal(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read one line from fd into buf (without the newline, NUL-terminated; any
 * other byte, a blank or '\r' too, is part of the password).
 * Returns 0, KAM_E2BIG if the line did not fit (the rest of it is consumed),
 * KAM_ECLOSED at end of input before any byte, or -errno.
 */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	bool any = false, over = false;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (!any)
				return KAM_ECLOSED;
			break;
		}
		any = true;
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = ch;
		else
			over = true;
	}
	buf[n] = '\0';
	return over ? KAM_E2BIG : 0;
}

static int write_str(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Ask on the terminal and read the answer, echo off when secret. */
static int tty_ask(const char *question, bool secret, char *buf, size_t cap)
{
	struct sigaction sa, old[N_PROMPT_SIGNALS];
	struct termios t;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((r = write_str(fd, question)) < 0)
		goto out;
	if (!secret) {
		r = read_line(fd, buf, cap);
		goto out;
	}
	if (tcgetattr(fd, &tty_saved) < 0) {
		r = -errno;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
		sigaction(prompt_signals[i], &sa, &old[i]);
	tty_fd = fd;
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;   /* the newline still shows, so the next output starts a line */
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		r = -errno;
	else
		r = read_line(fd, buf, cap);
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
		sigaction(prompt_signals[i], &old[i], NULL);
out:
	close(fd);
	return r;
}

int prompt_line(const char *question, char *buf, size_t cap)
{
	return tty_ask(question, false, buf, cap);
}

int prompt_password(struct cli *cli, const char *prompt, bool from_stdin, char buf[PASSWORD_BUF])
{
	int r;

	if (from_stdin)
		r = read_line(0, buf, PASSWORD_BUF);
	else
		r = tty_ask(prompt, true, buf, PASSWORD_BUF);
	if (r == 0 && strlen(buf) > KAM_MAX_PASSWORD)
		r = KAM_E2BIG;
	if (r == 0)
		return KAM_EXIT_OK;
	cli_wipe(buf, PASSWORD_BUF);
	if (r == KAM_E2BIG)
		return cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
				"password is longer than %d bytes", KAM_MAX_PASSWORD);
	if (from_stdin && r == KAM_ECLOSED)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "no password on stdin");
	if (from_stdin)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL,
				"cannot read the password from stdin: %s", kam_strerror(r));
	if (r == KAM_ECLOSED)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "no password entered");
	return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, "pipe the password to --password-stdin",
			"cannot read a password from the terminal: %s", kam_strerror(r));
}
