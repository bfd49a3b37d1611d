/* relay.c: the relay engine over socketpairs, pipes and regular files: bytes equal
 * both ways, half-close in each direction, several inputs in order, a bounded buffer
 * behind a stalled reader (while the other direction still flows), EPIPE reported (or
 * ending quietly with RELAY_B_EPIPE_ENDS), descriptor flags left alone when shared and
 * restored when owned, and no busy loop while waiting behind a hung-up descriptor. */
#include "loop.h"
#include "relay.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#define CHECK_PREFIX "relay/"
#include "check.h"

#define BIG (8u << 20)

static unsigned char pat(size_t i) { return (unsigned char)((i * 2654435761u) >> 13); }

static void sp(int v[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, v) < 0)
		die_errno(1, "socketpair");
}

static void pp(int v[2])
{
	if (pipe2(v, O_CLOEXEC) < 0)
		die_errno(1, "pipe");
}

/* In a child: close every descriptor but 0-2 and the two given (pipe ends held by a
 * sibling would keep an EOF from ever arriving). */
static void keep_only(int x, int y)
{
	for (int fd = 3; fd < 1024; fd++)
		if (fd != x && fd != y)
			close(fd);
}

/* Children: each returns its pid; exit status 0 means it saw what it expected. */
static pid_t child_write(int fd, size_t n, int half_close)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	keep_only(fd, -1);
	static unsigned char buf[65536];
	for (size_t off = 0; off < n;) {
		size_t k = n - off < sizeof buf ? n - off : sizeof buf;
		for (size_t j = 0; j < k; j++)
			buf[j] = pat(off + j);
		if (write_all(fd, buf, k) < 0)
			_exit(2);
		off += k;
	}
	if (half_close && shutdown(fd, SHUT_WR) < 0)
		close(fd);
	_exit(0);
}

static pid_t child_read(int fd, size_t want)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	keep_only(fd, -1);
	static unsigned char buf[65536];
	size_t off = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t j = 0; j < n; j++)
			if (buf[j] != pat(off + j))
				_exit(3);
		off += n;
	}
	_exit(n == 0 && off == want ? 0 : 4);
}

/* echo: copy in to out until EOF, then half-close out */
static pid_t child_echo(int in, int out, unsigned delay_ms)
{
	pid_t pid = fork();
	if (pid)
		return pid;
	keep_only(in, out);
	if (delay_ms)
		usleep(delay_ms * 1000);
	static char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write_all(out, buf, n) < 0)
			_exit(2);
	if (n < 0)
		_exit(3);
	if (shutdown(out, SHUT_WR) < 0)
		close(out);
	_exit(0);
}

static int reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_sockets(void)
{
	int a[2], b[2];
	sp(a);
	sp(b);
	pid_t w = child_write(a[0], BIG, 1);
	pid_t r = child_read(a[0], BIG);
	pid_t e = child_echo(b[1], b[1], 0);
	close(a[0]);
	close(b[1]);
	struct relay_info info;
	int err = relay_run(a[1], a[1], b[0], b[0], NULL, &info);
	int rw = reap(w), rr = reap(r), re = reap(e);
	CHECK(!err && info.bytes[0] == BIG && info.bytes[1] == BIG, "sockets: 8 MiB both ways",
	      "err %s, bytes %llu/%llu", strerror(err), info.bytes[0], info.bytes[1]);
	CHECK(!rw && !rr && !re, "sockets: bytes equal, EOF seen at both ends",
	      "writer %d reader %d echo %d", rw, rr, re);
	close(a[1]);
	close(b[0]);
}

/* A sends and half-closes; B reads to EOF, then answers and closes. And the reverse:
 * B answers and half-closes first, then reads what A still sends. */
static void test_half_close(void)
{
	int a[2], b[2];
	sp(a);
	sp(b);
	pid_t srv = fork();
	if (!srv) {
		close(a[0]); close(a[1]); close(b[0]);
		char buf[65536];
		size_t total = 0;
		ssize_t n;
		while ((n = read(b[1], buf, sizeof buf)) > 0)
			total += n;
		char ans[64];
		int k = snprintf(ans, sizeof ans, "got %zu\n", total);
		write_all(b[1], ans, k);
		_exit(0);
	}
	pid_t w = child_write(a[0], 300000, 1);
	close(b[1]);
	struct relay_info info;
	pid_t rl = fork();
	if (!rl) {
		close(a[0]);
		_exit(relay_run(a[1], a[1], b[0], b[0], NULL, &info) ? 1 : 0);
	}
	close(a[1]);
	close(b[0]);
	char got[64] = "";
	read_full(a[0], got, sizeof got - 1);
	reap(w);
	CHECK(!strcmp(got, "got 300000\n"), "half-close A->B: the service saw EOF and answered",
	      "got '%s'", got);
	CHECK(reap(srv) == 0 && reap(rl) == 0, "half-close A->B: relay ended cleanly", "status");
	close(a[0]);

	/* reverse: B talks first and shuts its side; A goes on sending afterwards */
	sp(a);
	sp(b);
	int res[2];
	pp(res);
	srv = fork();
	if (!srv) {
		close(a[0]); close(a[1]); close(b[0]); close(res[0]);
		write_all(b[1], "hello\n", 6);
		shutdown(b[1], SHUT_WR);
		char buf[65536];
		size_t total = 0;
		ssize_t n;
		while ((n = read(b[1], buf, sizeof buf)) > 0)
			total += n;
		write_all(res[1], &total, sizeof total);
		_exit(0);
	}
	close(res[1]);
	close(b[1]);
	rl = fork();
	if (!rl) {
		close(a[0]);
		_exit(relay_run(a[1], a[1], b[0], b[0], NULL, &info) ? 1 : 0);
	}
	close(a[1]);
	close(b[0]);
	char hello[16] = "";
	ssize_t n = read_full(a[0], hello, sizeof hello - 1);  /* to EOF: B's half-close arrived */
	w = child_write(a[0], 200000, 1);
	reap(w);
	size_t total = 0;
	read_full(res[0], &total, sizeof total);
	CHECK(n == 6 && !strcmp(hello, "hello\n"), "half-close B->A: A saw the answer, then EOF",
	      "read %zd '%s'", n, hello);
	CHECK(total == 200000, "half-close B->A: A->B kept flowing after it",
	      "service got %zu", total);
	CHECK(reap(srv) == 0 && reap(rl) == 0, "half-close B->A: relay ended cleanly", "status");
	close(a[0]);
	close(res[0]);
}

/* Pipes on both sides: EOF closes the output pipe, which is how a pipe half-closes. */
static void test_pipes(void)
{
	int ain[2], aout[2], bout[2], bin[2];
	pp(ain); pp(aout); pp(bout); pp(bin);
	pid_t w = child_write(ain[1], BIG, 0);
	pid_t r = child_read(aout[0], BIG);
	pid_t e = child_echo(bout[0], bin[1], 0);
	close(ain[1]); close(aout[0]); close(bout[0]); close(bin[1]);
	struct relay_info info;
	int err = relay_run(ain[0], aout[1], bin[0], bout[1], NULL, &info);
	int rw = reap(w), rr = reap(r), re = reap(e);
	CHECK(!err && !rw && !rr && !re && info.bytes[0] == BIG,
	      "pipes: 8 MiB through, EOF propagated by closing",
	      "err %s writer %d reader %d echo %d", strerror(err), rw, rr, re);
	close(ain[0]); close(bin[0]);
	/* aout[1] and bout[1] were closed by the relay (half-close of a pipe) */
	CHECK(fcntl(aout[1], F_GETFD) < 0 && fcntl(bout[1], F_GETFD) < 0,
	      "pipes: the relay closed the output pipes", "still open");
}

/* Regular files are always ready; several inputs in order through next_a_in. */
struct nexts { int fds[4]; int n, i; };
static int next_in(void *arg)
{
	struct nexts *x = arg;
	return x->i < x->n ? x->fds[x->i++] : RELAY_NEXT_EOF;
}

static int tmpfile_with(size_t off, size_t n)
{
	char path[] = "/tmp/dipus-relay-test.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die_errno(1, "mkstemp");
	unlink(path);
	static unsigned char buf[65536];
	for (size_t k = 0; k < n;) {
		size_t m = n - k < sizeof buf ? n - k : sizeof buf;
		for (size_t j = 0; j < m; j++)
			buf[j] = pat(off + k + j);
		write_all(fd, buf, m);
		k += m;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void test_files(void)
{
	/* input: file (3 MiB) + pipe (1 MiB) + file (2 MiB), output: a regular file */
	size_t s1 = 3u << 20, s2 = 1u << 20, s3 = 2u << 20;
	int f1 = tmpfile_with(0, s1), f3 = tmpfile_with(s1 + s2, s3);
	int p[2];
	pp(p);
	pid_t w = fork();
	if (!w) {
		static unsigned char buf[65536];
		for (size_t k = 0; k < s2; k += sizeof buf) {
			for (size_t j = 0; j < sizeof buf; j++)
				buf[j] = pat(s1 + k + j);
			write_all(p[1], buf, sizeof buf);
		}
		_exit(0);
	}
	close(p[1]);
	int out = tmpfile_with(0, 0);
	int b[2];
	sp(b);
	pid_t e = child_echo(b[1], b[1], 0);
	close(b[1]);
	struct nexts nx = { { p[0], f3 }, 2, 0 };
	struct relay_opts o = { .next_a_in = next_in, .next_arg = &nx, .flags = RELAY_CLOSE_INPUTS };
	struct relay_info info;
	int err = relay_run(f1, dup(out), b[0], b[0], &o, &info);  /* the relay closes it at EOF */
	reap(w);
	int re = reap(e);
	size_t total = s1 + s2 + s3, bad = 0, got = 0;
	lseek(out, 0, SEEK_SET);
	static unsigned char buf[65536];
	ssize_t n;
	while ((n = read(out, buf, sizeof buf)) > 0) {
		for (ssize_t j = 0; j < n; j++)
			bad += buf[j] != pat(got + j);
		got += n;
	}
	CHECK(!err && !re && got == total && !bad, "files: file + pipe + file in order, into a file",
	      "err %s echo %d got %zu of %zu, %zu bad", strerror(err), re, got, total, bad);
	CHECK(fcntl(p[0], F_GETFD) < 0 && fcntl(f1, F_GETFD) < 0 && fcntl(f3, F_GETFD) == 0,
	      "files: replaced inputs closed (RELAY_CLOSE_INPUTS), the last one left", "fds");
	close(f3); close(out); close(b[0]);
}

/* Stalled reader: B never reads. The writer into A must be stopped by a bounded amount
 * of buffering, while B->A still flows. Runs on a loop of our own. */
struct stall {
	int a_peer, b_peer;
	size_t pushed, last;
	int stable;
	char pong[8];
	size_t npong;
	struct relay_info info;
	int done;
};

static void stall_done(struct relay *r, const struct relay_info *info, void *arg)
{
	struct stall *s = arg;
	s->info = *info;
	s->done = 1;
}

static void stall_tick(struct loop *lp, void *arg)
{
	struct stall *s = arg;
	static char buf[65536];
	ssize_t n;
	while ((n = write(s->a_peer, buf, sizeof buf)) > 0)
		s->pushed += n;
	if (s->npong < 4) {
		n = read(s->a_peer, s->pong + s->npong, 4 - s->npong);
		if (n > 0)
			s->npong += n;
	}
	s->stable = s->pushed == s->last ? s->stable + 1 : 0;
	s->last = s->pushed;
	if (s->stable >= 5 && s->npong == 4)
		loop_stop(lp, 0);
	else
		loop_timer(lp, 20, stall_tick, s);
}

static void stall_guard(struct loop *lp, void *arg)
{
	loop_stop(lp, 1);
}

static void test_stalled(void)
{
	int a[2], b[2];
	sp(a);
	sp(b);
	struct stall s = { .a_peer = a[0], .b_peer = b[1] };
	fd_set_nonblock(a[0], 1);
	write_all(b[1], "pong", 4);  /* B->A must still flow while A->B is stuck */
	struct loop *lp = loop_new();
	struct relay *r = relay_start(lp, a[1], a[1], b[0], b[0], NULL, stall_done, &s);
	loop_timer(lp, 20, stall_tick, &s);
	loop_timer(lp, 10000, stall_guard, NULL);
	loop_run(lp);
	int sndbuf = 0, rcvbuf = 0;
	socklen_t l = sizeof sndbuf;
	getsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l);
	l = sizeof rcvbuf;
	getsockopt(b[1], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &l);
	/* bound: what the two sockets can hold plus the relay's buffer (and slack) */
	size_t bound = (size_t)sndbuf * 2 + (size_t)rcvbuf * 2 + RELAY_BUF_DEFAULT * 2;
	CHECK(s.stable >= 5 && s.pushed > 0 && s.pushed <= bound,
	      "stalled reader: the writer is stopped after a bounded amount",
	      "pushed %zu, bound %zu, stable %d", s.pushed, bound, s.stable);
	CHECK(s.npong == 4 && !memcmp(s.pong, "pong", 4), "stalled reader: the other direction still flows",
	      "got %zu bytes", s.npong);
	CHECK(!s.done, "stalled reader: the relay waits, no error", "ended: %s", strerror(s.info.err));
	relay_free(r);
	loop_free(lp);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void test_epipe(void)
{
	int a[2], b[2];
	sp(a);
	sp(b);
	close(b[1]);  /* the service is gone */
	pid_t w = child_write(a[0], 1u << 20, 1);
	struct relay_info info;
	int err = relay_run(a[1], a[1], b[0], b[0], NULL, &info);
	CHECK((err == EPIPE || err == ECONNRESET) && info.side == RELAY_B && info.failed_out,
	      "EPIPE: writing to a closed B is reported (side B, writing)",
	      "err %s side %d out %d", strerror(err), info.side, info.failed_out);
	kill(w, SIGKILL);
	reap(w);
	close(a[0]); close(a[1]); close(b[0]);

	/* with RELAY_B_EPIPE_ENDS: B answered and left without reading everything */
	sp(a);
	sp(b);
	pid_t srv = fork();
	if (!srv) {
		close(a[0]); close(a[1]); close(b[0]);
		char c[10];
		read_full(b[1], c, sizeof c);
		write_all(b[1], "bye\n", 4);
		_exit(0);
	}
	close(b[1]);
	w = child_write(a[0], 4u << 20, 1);
	pid_t rl = fork();
	if (!rl) {
		close(a[0]);
		struct relay_opts o = { .flags = RELAY_B_EPIPE_ENDS };
		_exit(relay_run(a[1], a[1], b[0], b[0], &o, &info));
	}
	close(a[1]);
	close(b[0]);
	char got[16] = "";
	read_full(a[0], got, sizeof got - 1);
	int rr = reap(rl);
	kill(w, SIGKILL);
	reap(w);
	reap(srv);
	CHECK(rr == 0 && !strcmp(got, "bye\n"), "RELAY_B_EPIPE_ENDS: B's answer arrives, no error",
	      "relay exit %d, got '%s'", rr, got);
	close(a[0]);

	/* A's output is a pipe nobody reads while B is quiet: the relay ends at once */
	int ain[2], aout[2];
	pp(ain); pp(aout);
	sp(b);
	close(aout[0]);
	uint64_t t0 = now_ms();
	int err2 = relay_run(ain[0], aout[1], b[0], b[0], NULL, &info);
	uint64_t dt = now_ms() - t0;
	CHECK(err2 == EPIPE && info.side == RELAY_A && info.failed_out && dt < 2000,
	      "EPIPE: A's output without a reader ends the relay without waiting for data",
	      "err %s side %d after %llu ms", strerror(err2), info.side, (unsigned long long)dt);
	close(ain[0]); close(ain[1]); close(aout[1]); close(b[0]); close(b[1]);
}

/* Shared descriptors keep their flags; owned ones get them back. */
static void test_flags(void)
{
	int ain[2], aout[2], b[2];
	pp(ain); pp(aout);
	sp(b);
	struct loop *lp = loop_new();
	struct relay_opts o = { .flags = RELAY_SHARED_A };
	struct relay *r = relay_start(lp, ain[0], aout[1], b[0], b[0], &o, NULL, NULL);
	int fa = fcntl(ain[0], F_GETFL), fo = fcntl(aout[1], F_GETFL), fb = fcntl(b[0], F_GETFL);
	CHECK(!(fa & O_NONBLOCK) && !(fo & O_NONBLOCK), "flags: shared A is never made non-blocking",
	      "in %#x out %#x", fa, fo);
	CHECK(fb & O_NONBLOCK, "flags: owned B is non-blocking while relaying", "%#x", fb);
	relay_free(r);
	fb = fcntl(b[0], F_GETFL);
	CHECK(!(fb & O_NONBLOCK), "flags: relay_free gives B its flags back", "%#x", fb);
	loop_free(lp);
	close(ain[0]); close(ain[1]); close(aout[0]); close(aout[1]); close(b[0]); close(b[1]);

	/* shared A through blocking pipes and a shared, blocking B socket: still correct */
	pp(ain); pp(aout);
	sp(b);
	pid_t w = child_write(ain[1], BIG, 0);
	pid_t rd = child_read(aout[0], BIG);
	pid_t e = child_echo(b[1], b[1], 0);
	close(ain[1]); close(aout[0]); close(b[1]);
	struct relay_info info;
	o.flags = RELAY_SHARED_A | RELAY_SHARED_B;
	int err = relay_run(ain[0], aout[1], b[0], b[0], &o, &info);
	int rw = reap(w), rr = reap(rd), re = reap(e);
	CHECK(!err && !rw && !rr && !re, "flags: all shared and blocking: 8 MiB through intact",
	      "err %s writer %d reader %d echo %d", strerror(err), rw, rr, re);
	close(ain[0]); close(b[0]);
}

/* A terminal as A's output (shared and blocking, as a user's dcat would have): splice
 * may or may not take it; the bytes must arrive either way, in order. */
static void test_tty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		printf("SKIP: relay/tty: no pseudo-terminal here\n");
		return;
	}
	int t = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios tio;
	tcgetattr(t, &tio);
	cfmakeraw(&tio);
	tcsetattr(t, TCSANOW, &tio);
	size_t n = 300000;
	int ain[2], b[2];
	pp(ain);
	sp(b);
	pid_t w = child_write(ain[1], n, 0);
	pid_t rd = fork();
	if (!rd) {
		keep_only(m, -1);
		static unsigned char buf[65536];
		size_t off = 0;
		ssize_t k;
		while (off < n && (k = read(m, buf, sizeof buf)) > 0) {
			for (ssize_t j = 0; j < k; j++)
				if (buf[j] != pat(off + j))
					_exit(3);
			off += k;
		}
		_exit(off == n ? 0 : 4);
	}
	pid_t e = child_echo(b[1], b[1], 0);
	close(ain[1]); close(b[1]); close(m);
	struct relay_opts o = { .flags = RELAY_SHARED_A };
	struct relay_info info;
	int err = relay_run(ain[0], t, b[0], b[0], &o, &info);
	/* B closed before reaping: a relay that ended early must fail here, not hang */
	close(b[0]);
	int rw = reap(w), rr = reap(rd), re = reap(e);
	CHECK(!err && !rw && !rr && !re && !(fcntl(ain[0], F_GETFL) & O_NONBLOCK),
	      "tty: 300 KB onto a terminal, in order", "err %s writer %d reader %d echo %d",
	      strerror(err), rw, rr, re);
	close(ain[0]);
}

/* An input splice() refuses (a timerfd has no splice_read): the direction falls back
 * to read()/write() through a buffer. */
static void test_no_splice(void)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
	int b[2], aout[2];
	sp(b);
	pp(aout);
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		printf("SKIP: relay/no splice: no timerfd\n");
		return;
	}
	struct loop *lp = loop_new();
	struct relay *r = relay_start(lp, tfd, aout[1], b[0], b[0], NULL, NULL, NULL);
	loop_timer(lp, 200, stall_guard, NULL);
	loop_run(lp);
	relay_free(r);
	loop_free(lp);
	uint64_t v[64];
	fd_set_nonblock(b[1], 1);
	ssize_t n = read(b[1], v, sizeof v);
	CHECK(n >= 16 && n % 8 == 0 && v[0] >= 1, "no splice: a timerfd's counts arrive through a buffer",
	      "read %zd", n);
	close(tfd); close(b[0]); close(b[1]); close(aout[0]); close(aout[1]);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Waiting for a slow B behind a hung-up input (a pipe whose writer left) must sleep. */
static void test_no_spin(void)
{
	int ain[2], aout[2], b[2];
	pp(ain); pp(aout);
	sp(b);
	write_all(ain[1], "x", 1);
	close(ain[1]);  /* EOF (and EPOLLHUP, level-triggered) on A's input */
	pid_t e = child_echo(b[1], b[1], 500);
	close(b[1]);
	pid_t rd = fork();
	if (!rd) {
		close(aout[1]);
		char c[4];
		_exit(read_full(aout[0], c, sizeof c) == 1 ? 0 : 1);
	}
	close(aout[0]);
	double c0 = cpu_seconds();
	uint64_t t0 = now_ms();
	struct relay_info info;
	int err = relay_run(ain[0], aout[1], b[0], b[0], NULL, &info);
	double used = cpu_seconds() - c0;
	uint64_t dt = now_ms() - t0;
	int re = reap(e), rr = reap(rd);
	CHECK(!err && !re && !rr && dt >= 400, "no spin: the answer came after the service's delay",
	      "err %s echo %d reader %d after %llu ms", strerror(err), re, rr, (unsigned long long)dt);
	CHECK(used < 0.1, "no spin: waiting behind a hung-up input costs no CPU",
	      "%.3f s of CPU in %llu ms", used, (unsigned long long)dt);
	close(ain[0]); close(b[0]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	applet_name = "relay-test";
	test_sockets();
	test_half_close();
	test_pipes();
	test_files();
	test_stalled();
	test_epipe();
	test_flags();
	test_no_spin();
	test_tty();
	test_no_splice();
	return check_status();
}
