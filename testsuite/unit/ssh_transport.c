/* ssh_transport: core/ssh.c without a network: $DIPUS_SSH points at small scripts that
 * behave like an SSH client failing in each documented way (their messages are the
 * ones dbclient 2025.89 and OpenSSH 9 print), or like one that works (runs the remote
 * command locally). Checks the classification, the exit codes, bounded time, that the
 * child is reaped, and the command line given to the client. */
#include "ssh.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_PREFIX "ssh_transport/"
#include "check.h"
static char dir[] = "/tmp/dipus-ssh-unit.XXXXXX";

/* a fake ssh: prints stderr_text to stderr, exits code */
static void fake(const char *name, const char *body)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(p, 0755);
}

static struct remote_uri uri(void)
{
	struct remote_uri u = { .scheme = REMOTE_SSH, .port = 2222 };
	strcpy(u.user, "alice");
	strcpy(u.host, "127.0.0.1");
	return u;
}

/* run one failing case: open, wait for readiness, expect failure with code and text */
static void expect_fail(const char *name, const char *script, int want_code, const char *want)
{
	char env[512];
	snprintf(env, sizeof env, "%s/%s", dir, script);
	setenv("DIPUS_SSH", env, 1);
	struct remote_uri u = uri();
	int code = 0;
	char err[2048] = "";
	uint64_t t0 = now_ms();
	struct ssh_conn *c = ssh_open(&u, SSH_NO_SHARE, &code, err, sizeof err);
	if (c) {
		pid_t pid = ssh_pid(c);
		if (ssh_wait_ready(c, 3000, &code, err, sizeof err) == 0) {
			CHECK(0, name, "ready, wanted a failure");
			ssh_close(c);
			return;
		}
		ssh_close(c);
		char n2[128];
		snprintf(n2, sizeof n2, "%s/child-reaped", name);
		CHECK(pid > 0 && kill(pid, 0) < 0 && errno == ESRCH, n2, "child not reaped");
	}
	uint64_t dt = now_ms() - t0;
	char why[2600];
	snprintf(why, sizeof why, "code %d (wanted %d), %llu ms: %s", code, want_code,
	         (unsigned long long)dt, err);
	CHECK(code == want_code && strstr(err, want) && strstr(err, "ssh://alice@127.0.0.1:2222: ") == err &&
	      dt < 6000, name, "%s", why);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* dbclient 2025.89's messages */
	fake("unreach", "echo 'dbclient: Connection to alice@127.0.0.1:2222 exited: Connect failed: Connection refused' >&2; exit 1");
	fake("unknown", "printf '\\nHost '\\''127.0.0.1'\\'' key unknown.\\n(ssh-ed25519 fingerprint SHA256:x)\\n' >&2; echo 'dbclient: Connection to alice@127.0.0.1:2222 exited: Not accepted automatically' >&2; exit 1");
	fake("changed", "printf '\\n\\nssh-ed25519 host key mismatch for 127.0.0.1 !\\nFingerprint is x\\nExpected y\\nIf you know that the host key is correct you can\\nremove the bad entry from ~/.ssh/known_hosts\\n' >&2; exit 1");
	fake("auth", "echo 'dbclient: Connection to alice@127.0.0.1:2222 exited: No auth methods could be used.' >&2; exit 1");
	fake("missing", "echo 'sh: 1: dipus: not found' >&2; exit 127");
	fake("old", "echo \"dipus: serve: no such applet (run 'dipus --list' to see the applets)\" >&2; exit 2");
	fake("mute", "exec sleep 30");
	fake("closes", "exit 0");
	/* OpenSSH 9's */
	fake("o-unknown", "echo 'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.' >&2; echo 'Host key verification failed.' >&2; exit 255");
	fake("o-changed", "echo '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @' >&2; echo 'Host key verification failed.' >&2; exit 255");
	fake("o-auth", "echo 'alice@127.0.0.1: Permission denied (publickey).' >&2; exit 255");
	fake("o-unreach", "echo 'ssh: connect to host 127.0.0.1 port 2222: Connection refused' >&2; exit 255");
	/* a working client: runs the remote command here, records its arguments */
	char body[512];
	snprintf(body, sizeof body, "printf '%%s\\n' \"$@\" >%s/args; for a; do last=$a; done; exec sh -c \"$last\"", dir);
	fake("works", body);

	expect_fail("unreachable", "unreach", DX_REMOTE, "host unreachable");
	expect_fail("hostkey-unknown", "unknown", DX_REFUSED, "host key unknown");
	expect_fail("hostkey-changed", "changed", DX_REFUSED, "host key changed");
	expect_fail("auth-refused", "auth", DX_REMOTE, "authentication refused");
	expect_fail("dipus-missing", "missing", DX_REMOTE,
	            "'dipus' missing on the remote: the remote shell could not run 'dipus serve --stdio' (exit 127: sh: 1: dipus: not found)");
	expect_fail("remote-too-old", "old", DX_REMOTE, "too old");
	expect_fail("remote-closes", "closes", DX_REMOTE, "closed the session");
	expect_fail("openssh-hostkey-unknown", "o-unknown", DX_REFUSED, "host key unknown");
	expect_fail("openssh-hostkey-changed", "o-changed", DX_REFUSED, "host key changed");
	expect_fail("openssh-auth-refused", "o-auth", DX_REMOTE, "authentication refused");
	expect_fail("openssh-unreachable", "o-unreach", DX_REMOTE, "host unreachable");
	expect_fail("mute-server-bounded", "mute", DX_REMOTE, "timed out");

	/* the local command does not exist: DX_IO, never confused with the remote's 127 */
	{
		setenv("DIPUS_SSH", "/nonexistent/ssh -x", 1);
		struct remote_uri u = uri();
		int code = 0;
		char err[1024] = "";
		struct ssh_conn *c = ssh_open(&u, SSH_NO_SHARE, &code, err, sizeof err);
		CHECK(!c && code == DX_IO && strstr(err, "cannot run /nonexistent/ssh"), "no-local-ssh", "%s", err);
		ssh_close(c);
	}

	/* a working transport: bytes both ways; the arguments given to the client */
	{
		char env[512];
		snprintf(env, sizeof env, "%s/works -o 'Some Option=a b'", dir);
		setenv("DIPUS_SSH", env, 1);
		setenv("DIPUS_REMOTE", "cat", 1);
		ssh_set_identity("/keys/id");
		struct remote_uri u = uri();
		int code;
		char err[1024] = "";
		struct ssh_conn *c = ssh_open(&u, SSH_NO_SHARE, &code, err, sizeof err);
		CHECK(c != NULL, "works-open", "%s", err);
		if (c) {
			fd_set_nonblock(ssh_wfd(c), 0);
			CHECK(write_all(ssh_wfd(c), "ping\n", 5) == 5, "works-write", "write");
			int r = ssh_wait_ready(c, 3000, &code, err, sizeof err);
			char b[16] = "";
			fd_set_nonblock(ssh_rfd(c), 0);
			ssize_t n = r == 0 ? read(ssh_rfd(c), b, sizeof b - 1) : -1;
			CHECK(n == 5 && !memcmp(b, "ping\n", 5), "works-echo", "%s", err);
			ssh_close(c);
		}
		char p[300], args[1024] = "";
		snprintf(p, sizeof p, "%s/args", dir);
		int fd = open(p, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, args, sizeof args - 1);
			args[n > 0 ? n : 0] = 0;
			close(fd);
		}
		CHECK(!strcmp(args, "-o\nSome Option=a b\n-p\n2222\n-l\nalice\n-i\n/keys/id\n127.0.0.1\ncat\n"),
		      "command-line", "%s", args);
		unsetenv("DIPUS_REMOTE");
		ssh_set_identity(NULL);
	}

	/* a bad target never reaches a command line */
	{
		struct remote_uri u = uri();
		strcpy(u.host, "-oProxyCommand=evil");
		int code;
		char err[512];
		struct ssh_conn *c = ssh_open(&u, SSH_NO_SHARE, &code, err, sizeof err);
		CHECK(!c && code == DX_USAGE, "option-as-host-refused", "%s", err);
	}

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return failures ? 1 : 0;
}
