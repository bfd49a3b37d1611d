/* tls-pins.c: the config dir (DIPUS_CONF, /etc/dipus, ~/.config/dipus) and its pin
 * files: known_hosts (client: host:port -> fingerprint) and authorized_keys (server:
 * fingerprints let in), with who may write them. Plain text, no mbedTLS: fingerprints
 * are compared as strings. Part of tls.c's split: tls-int.h. */
#include "tls.h"
#include "tls-int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tls_conf_dir(void)
{
	static char dir[512];
	const char *c = getenv("DIPUS_CONF");
	if (c && *c)
		return c;
	if (geteuid() == 0)
		return "/etc/dipus";
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : "/";
	}
	snprintf(dir, sizeof dir, "%s/.config/dipus", home);
	return dir;
}

int tls_conf_path(char *buf, size_t len, const char *file, char *err, size_t errlen)
{
	if (xsnprintf(buf, len, "%s/%s", tls_conf_dir(), file) == 0)
		return 0;
	snprintf(err, errlen, "%s: config dir path too long", tls_conf_dir());
	return -1;
}

int tls_fp_valid(const char *fp)
{
	if (strncmp(fp, "SHA256:", 7))
		return 0;
	size_t n = 0;
	for (const char *p = fp + 7; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '+' || *p == '/'))
			return 0;
	return n == 43;
}

/* Only we or root may write it, nobody else: unless, for a directory, the sticky bit
 * (as /tmp) keeps others from replacing what is ours. risk: what others could do. */
static int check_writers(const struct stat *st, const char *path, const char *risk,
                         const char *fix_mode, char *err, size_t errlen)
{
	int sticky = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);
	if ((st->st_uid == geteuid() || st->st_uid == 0) && (!(st->st_mode & 022) || sticky))
		return 0;
	snprintf(err, errlen, "%s: owned by uid %u with permissions %04o: others could %s; it must "
	         "be yours and not writable by others (chmod %s %s)", path, (unsigned)st->st_uid,
	         (unsigned)(st->st_mode & 07777), risk, fix_mode, path);
	errno = EPERM;
	return -1;
}

/* The config dir must not let others swap its files: ours or root's, not writable by
 * group or others (unless sticky, as /tmp: then nobody can replace our files). */
static int check_dir(const char *d, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(d, &st) < 0) {
		snprintf(err, errlen, "%s: %s", d, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory%s", d, S_ISLNK(st.st_mode) ? " (a symlink)" : "");
		errno = EPERM;
		return -1;
	}
	return check_writers(&st, d, "replace its keys and pins", "700", err, errlen);
}

/* A pin file (known_hosts, authorized_keys): whoever can write it decides who is
 * trusted, so only we or root may (sshd's StrictModes rule). */
int tls_check_pins(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		errno = EPERM;
		return -1;
	}
	return check_writers(&st, path, "change who is trusted", "644", err, errlen);
}

int tls_ensure_conf_dir(char *err, size_t errlen)
{
	const char *d = tls_conf_dir();
	char parent[512];
	snprintf(parent, sizeof parent, "%s", d);
	/* ~/.config may not exist yet */
	char *s = strrchr(parent, '/');
	if (s && s != parent) {
		*s = 0;
		mkdir(parent, 0700);
	}
	if (mkdir(d, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d, strerror(errno));
		return -1;
	}
	return check_dir(d, err, errlen);
}

/* Open a pin file of the config dir and check who may write it. NULL with errno ENOENT
 * if there is none (nothing pinned), else NULL with err. */
FILE *tls_open_pins(const char *file, char *path, size_t plen, char *err, size_t errlen)
{
	if (tls_conf_path(path, plen, file, err, errlen) < 0)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	FILE *f = NULL;
	if (tls_check_pins(fd, path, err, errlen) < 0 || !(f = fdopen(fd, "r"))) {
		int e = errno;
		if (!f && e != EPERM)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e == ENOENT ? EIO : e;
		return NULL;
	}
	return f;
}

/* The next line of f, split into its first two blank-separated words (no scanf: it
 * would add 10 KB). A line too long for buf is skipped whole, never read as two lines.
 * Returns the number of words (0 for blank and comment lines), -1 at the end. */
int tls_next_pin(FILE *f, char *buf, size_t len, int *lineno, char **a, char **b)
{
	for (;;) {
		if (!fgets(buf, (int)len, f))
			return -1;
		++*lineno;
		size_t n = strlen(buf);
		if (n == len - 1 && buf[n - 1] != '\n') {
			int ch;
			while ((ch = getc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		char *save;
		*a = strtok_r(buf, " \t\r\n", &save);
		if (!*a || **a == '#')
			return 0;
		*b = strtok_r(NULL, " \t\r\n", &save);
		return *b ? 2 : 1;
	}
}

/* host:port as pinned: "[v6]:port" and "v6:port" are the same pin, and so are host
 * names that differ only in case. */
static int same_hostport(const char *a, const char *b)
{
	char x[300], y[300];
	const char *in[2] = { a, b };
	char *out[2] = { x, y };
	for (int i = 0; i < 2; i++) {
		const char *s = in[i];
		const char *close = s[0] == '[' ? strstr(s, "]:") : NULL;
		if (close)
			snprintf(out[i], 300, "%.*s%s", (int)(close - s - 1), s + 1, close + 1);
		else
			snprintf(out[i], 300, "%s", s);
	}
	return !strcasecmp(x, y);
}

int tls_known_hosts_check(const char *hostport, const char *fp, char *err, size_t errlen)
{
	char path[512], line[512], other[TLS_FP_MAX] = "";
	FILE *f = tls_open_pins("known_hosts", path, sizeof path, err, errlen);
	if (!f)
		return errno == ENOENT ? 1 : -1;
	int lineno = 0, at = 0, w;
	char *h, *k;
	while ((w = tls_next_pin(f, line, sizeof line, &lineno, &h, &k)) >= 0) {
		if (w != 2 || !same_hostport(h, hostport))
			continue;
		if (!strcmp(k, fp)) {
			fclose(f);
			return 0;  /* any pin of the host that matches: rotation is pin new, then remove old */
		}
		if (!at) {
			at = lineno;
			snprintf(other, sizeof other, "%s", k);
		}
	}
	fclose(f);
	if (!at)
		return 1;
	snprintf(err, errlen, "%s: the exporter's key has CHANGED: pinned %s, now %s "
	         "(if that is expected, remove line %d of %s and run 'dipus trust' again)",
	         hostport, other, fp, at, path);
	errno = EPERM;
	return -1;
}

int tls_known_hosts_has_fp(const char *fp)
{
	char path[512], line[512], err[256];
	if (!tls_fp_valid(fp))
		return 0;
	FILE *f = tls_open_pins("known_hosts", path, sizeof path, err, sizeof err);
	if (!f)
		return 0;
	int lineno = 0, w, rc = 0;
	char *h, *k;
	while (!rc && (w = tls_next_pin(f, line, sizeof line, &lineno, &h, &k)) >= 0)
		rc = w == 2 && !strcmp(k, fp);
	fclose(f);
	return rc;
}

/* Append one line to a pin file of the config dir, made if missing. */
static int append_pin(const char *file, const char *text, mode_t mode, char *err, size_t errlen)
{
	char path[512];
	if (tls_ensure_conf_dir(err, errlen) < 0 || tls_conf_path(path, sizeof path, file, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (tls_check_pins(fd, path, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	/* a last line without its newline must not swallow ours */
	char last = '\n';
	off_t end = lseek(fd, 0, SEEK_END);
	if (end > 0 && pread(fd, &last, 1, end - 1) != 1)
		last = '\n';
	if ((last != '\n' && write_all(fd, "\n", 1) < 0) || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int tls_known_hosts_add(const char *hostport, const char *fp, char *err, size_t errlen)
{
	for (const char *p = hostport; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '#' || (unsigned char)*p == 0x7f) {
			snprintf(err, errlen, "%s: not a host:port that can be pinned", hostport);
			errno = EINVAL;
			return -1;
		}
	if (!*hostport || *hostport == '#' || !tls_fp_valid(fp)) {
		snprintf(err, errlen, "%s %s: not a host:port and a fingerprint", hostport, fp);
		errno = EINVAL;
		return -1;
	}
	char line[400];
	if (xsnprintf(line, sizeof line, "%s %s\n", hostport, fp) < 0) {
		snprintf(err, errlen, "%s: host name too long", hostport);
		errno = EINVAL;
		return -1;
	}
	return append_pin("known_hosts", line, 0644, err, errlen);
}

int tls_authorized(const char *fp, char *err, size_t errlen)
{
	char path[512], line[512];
	FILE *f = tls_open_pins("authorized_keys", path, sizeof path, err, errlen);
	if (!f)
		return errno == ENOENT ? 0 : -1;
	int rc = 0, lineno = 0, w;
	char *k, *comment;
	while ((w = tls_next_pin(f, line, sizeof line, &lineno, &k, &comment)) >= 0)
		if (w >= 1 && !strcmp(k, fp)) {
			rc = 1;
			break;
		}
	fclose(f);
	return rc;
}

int tls_authorize_add(const char *fp, const char *comment, char *err, size_t errlen)
{
	if (!tls_fp_valid(fp)) {
		snprintf(err, errlen, "%s: not a fingerprint (SHA256: and 43 base64 characters, as "
		         "'dipus keygen -y' prints)", fp);
		errno = EINVAL;
		return -1;
	}
	char line[400];
	comment = comment ? comment : "";
	for (const char *p = comment; *p; p++)
		if ((unsigned char)*p < ' ' && *p != '\t') {
			snprintf(err, errlen, "a comment is one line of text");
			errno = EINVAL;
			return -1;
		}
	int r = tls_authorized(fp, err, errlen);
	if (r != 0)
		return r < 0 ? -1 : 1;
	if (xsnprintf(line, sizeof line, "%s%s%s\n", fp, *comment ? " " : "", comment) < 0) {
		snprintf(err, errlen, "comment too long");
		errno = EINVAL;
		return -1;
	}
	return append_pin("authorized_keys", line, 0600, err, errlen);
}
