//config:config KEYGEN
//config:	bool "keygen: SEP key and certificate"
//config:	default y
//config:	depends on TLS
//config:	help
//config:	  Create this host's SEP key and certificate. See doc/keys.md.
//applet:APPLET(keygen, "keygen", PREFIXED, "create this host's SEP key and certificate")

/* keygen.c: this host's SEP key and self-signed certificate.
 *
 *   dipus keygen        create key.pem (0600) and cert.pem, print the fingerprint
 *   dipus keygen -y     print the existing key's fingerprint (for authorized_keys) */
#include "applets.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

const char keygen_usage[] =
	"usage: dipus keygen [-f] [-y]\n"
	"\n"
	"Create this host's SEP identity in the config dir ($DIPUS_CONF, else /etc/dipus\n"
	"for root, ~/.config/dipus otherwise): an ECDSA P-256 key (key.pem, mode 0600)\n"
	"and its self-signed certificate (cert.pem), and print the key's fingerprint,\n"
	"SHA256:<base64>, which peers pin (known_hosts) or authorize (authorized_keys).\n"
	"\n"
	"  -f   replace an existing key (peers that pinned the old one will refuse it)\n"
	"  -y   only print the existing key's fingerprint\n"
	"\n"
	"Exit: 0 ok, 2 usage or a key exists already (without -f), 3 I/O error,\n"
	"4 refused: a key file with loose permissions or not yours, or a config dir\n"
	"others can write to. See doc/keys.md.\n";

int keygen_main(int argc, char **argv)
{
	static const struct opt opts[] = { { 'f', NULL, OPT_NOARG }, { 'y', NULL, OPT_NOARG }, OPT_END };
	struct optparse op;
	int force = 0, show = 0, c;
	opt_start(&op, argc, argv, opts, OPT_PERMUTE);
	while ((c = opt_next(&op)) > 0) {
		switch (c) {
		case 'f': force = 1; break;
		case 'y': show = 1; break;
		}
	}
	if (c < 0)
		return opt_rc(c);
	if (optind != argc)
		return usage_error("takes no arguments");
	char fp[TLS_FP_MAX], err[1024];
	if (show) {
		if (tls_key_fingerprint(fp, err, sizeof err) < 0)
			die(errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
		printf("%s\n", fp);
		return fflush(stdout) ? DX_IO : DX_OK;
	}
	if (tls_keygen(force, fp, err, sizeof err) < 0)
		die(errno == EEXIST ? DX_USAGE : errno == EPERM ? DX_REFUSED : DX_IO, "%s", err);
	printf("%s\n", fp);
	fprintf(stderr, "dipus: keygen: key and certificate written to %s\n", tls_conf_dir());
	return fflush(stdout) ? DX_IO : DX_OK;
}
