# configs.sh: both configurations build (static, warning-free) and contain what they
# say; make install puts the binary and its links under DESTDIR.
# timeout: 600
. "$TOP/testsuite/lib.sh"
need_cmd "tiny config build" musl-gcc || exit 0
B=$T/build
# a make of its own, with the embedded default toolchain: not a job of the make that
# runs the suite (no jobserver notes), nor its CC=gcc SANITIZE=1 (check-sanitize), nor
# its CROSS= (make check CROSS=mips: these builds test the build system, on the host)
unset MAKEFLAGS MFLAGS MAKELEVEL CC SANITIZE CFLAGS LDFLAGS V CROSS LIBC STATIC WERROR
# the tiny config: only local applets, nothing fetched
if make -C "$TOP" -j2 CONFIG=config/tiny.config BUILDDIR="$B/tiny" OUT="$B/tiny/dipus" >"$T/tiny.log" 2>&1; then
	pass "tiny.config builds"
	run file "$B/tiny/dipus"
	expect_grep "tiny build is statically linked" "statically linked" "$OUT"
	want=$(sed -n 's/^CONFIG_\([A-Z_]*\)=y$/\1/p' "$TOP/config/tiny.config" | tr 'A-Z_' 'a-z-' | grep -vxE 'tls|ssh' | sort | tr '\n' ' ')
	expect_eq "tiny --list is exactly tiny.config's applets" "$want" "$("$B/tiny/dipus" --list | sort | tr '\n' ' ')"
	expect_rc "an applet configured out is not there (exit 9)" 9 "$B/tiny/dipus" exporter
	expect_eq "...and says so in one line" "dipus: exporter: not built in this binary (see dipus --list)" "$(cat "$ERR")"
	expect_rc "...also for --help" 9 "$B/tiny/dipus" exporter --help
	ln -s "$B/tiny/dipus" "$T/dipus-exporter"
	expect_rc "...also through its link name" 9 "$T/dipus-exporter"
	run "$B/tiny/dipus" --version
	expect_grep "tiny --version names no TLS or SSH" "^features:$" "$OUT"
	if grep -q "mbedtls\|dropbear\|FETCH" "$T/tiny.log"; then
		fail "tiny.config fetches and builds no dependency" "$(grep -m1 'mbedtls\|dropbear\|FETCH' "$T/tiny.log")"
	else
		pass "tiny.config fetches and builds no dependency"
	fi
	size=$(wc -c <"$B/tiny/dipus")
	# 104 KiB: the local applets gained the one option parser, lexical path normalisation
	# and /proc/net/unix liveness (doc/build.md "Size")
	[ "$size" -le 106496 ] && pass "tiny binary <= 104 KiB ($size bytes)" || fail "tiny binary <= 104 KiB" "$size bytes"
else
	fail "tiny.config builds" "$(tail -5 "$T/tiny.log")"
fi
# warnings are errors: a build that printed one would have failed above; check the log
expect_eq "no compiler warnings" "" "$(grep -i 'warning:' "$T/tiny.log")"

# make install: binary and one link per applet under DESTDIR, links relative
if make -C "$TOP" CONFIG=config/tiny.config BUILDDIR="$B/tiny" OUT="$B/tiny/dipus" \
	DESTDIR="$T/dest" PREFIX=/usr install >"$T/install.log" 2>&1; then
	pass "make install DESTDIR=... PREFIX=/usr"
	[ -x "$T/dest/usr/bin/dipus" ] && pass "installed bin/dipus" || fail "installed bin/dipus" "missing"
	expect_eq "dcat is a relative link to dipus" "dipus" "$(readlink "$T/dest/usr/bin/dcat")"
	expect_eq "dipus-local-pipe is a relative link to dipus" "dipus" "$(readlink "$T/dest/usr/bin/dipus-local-pipe")"
	run "$T/dest/usr/bin/dls" --help
	expect_grep "the installed dls runs" "^usage: dls" "$OUT"
else
	fail "make install DESTDIR=... PREFIX=/usr" "$(tail -5 "$T/install.log")"
fi

# Adding an applet is adding its file (and a CONFIG_ line): in a copy of the tree, a
# throwaway applet with its //config: and //applet: block is built, listed and runs
# with the common option parser; its "depends on" is checked by make; a configured
# applet without its entry point fails the link (no weak symbols); a configured applet
# without its file is a configuration error.
W=$T/tree
mkdir -p "$W"
cp -R "$TOP/Makefile" "$TOP/LICENSE" "$TOP/LICENSES" "$TOP/applets" "$TOP/core" "$TOP/config" "$TOP/mk" "$TOP/scripts" "$W/"
rm -rf "$W/build"
cat >"$W/applets/hello.c" <<'EOC'
//config:config HELLO
//config:	bool "hello: a throwaway applet of the test suite"
//config:	default y
//applet:APPLET(hello, "hello", PREFIXED, "say hello")

#include "applets.h"

#include <stdio.h>

const char hello_usage[] = "usage: dipus hello [-n NAME]\n";

int hello_main(int argc, char **argv)
{
	static const struct opt opts[] = { { 'n', "name", OPT_ARG }, OPT_END };
	struct optparse op;
	const char *name = "world";
	int c;
	opt_start(&op, argc, argv, opts, 0);
	while ((c = opt_next(&op)) > 0)
		name = optarg;
	if (c < 0)
		return opt_rc(c);
	printf("hello %s\n", name);
	return 0;
}
EOC
{ cat "$W/config/tiny.config"; echo "CONFIG_HELLO=y"; } >"$W/hello.config"
hmake() {
	make -C "$W" -j2 CONFIG=hello.config BUILDDIR="$W/build/hello" OUT="$W/dipus" >"$T/hello.log" 2>&1
}
if hmake; then
	pass "a new applets/hello.c builds with no other file changed but the config"
	expect_eq "...is listed" "hello" "$("$W/dipus" --list | grep -x hello)"
	expect_eq "...runs, with its options" "hello you" "$("$W/dipus" hello --name you)"
	run "$W/dipus" hello -x
	expect_eq "...rejects an unknown option in the common format" "2 dipus: hello: unknown option -x (see 'dipus hello --help')" "$RC $(cat "$ERR")"
	expect_grep "...and is in the generated Config.in" "^config HELLO" "$W/build/gen/Config.in"
else
	fail "a new applets/hello.c builds with no other file changed but the config" "$(tail -5 "$T/hello.log")"
fi
sed -i 's|^//config:	default y|&\n//config:	depends on TLS \&\& !SSH|' "$W/applets/hello.c"
if hmake; then
	fail "an unmet 'depends on' is a configuration error" "make succeeded"
else
	expect_grep "an unmet 'depends on' is a configuration error naming both symbols" \
		"CONFIG_HELLO=y depends on CONFIG_TLS && !CONFIG_SSH" "$T/hello.log"
fi
sed -i '/depends on/d; s/^int hello_main/int hello_mian/' "$W/applets/hello.c"
if hmake; then
	fail "a configured applet without its hello_main fails the link" "make succeeded"
else
	expect_grep "a configured applet without its hello_main fails the link" "undefined reference to .hello_main" "$T/hello.log"
fi
rm "$W/applets/hello.c"
if hmake; then
	fail "CONFIG_HELLO=y without applets/hello.c is a configuration error" "make succeeded"
else
	expect_grep "CONFIG_HELLO=y without applets/hello.c is a configuration error" "CONFIG_HELLO is set but no applets/\*.c declares" "$T/hello.log"
fi
