# configs.sh: both configurations build (static, warning-free) and contain what they
# say; make install puts the binary and its links under DESTDIR.
# timeout: 600
. "$TOP/testsuite/lib.sh"
need_cmd "tiny config build" musl-gcc || exit 0
B=$T/build
# a make of its own, with the embedded default toolchain: not a job of the make that
# runs the suite (no jobserver notes), nor its CC=gcc SANITIZE=1 (check-sanitize)
unset MAKEFLAGS MFLAGS MAKELEVEL CC SANITIZE CFLAGS LDFLAGS V
# the tiny config: only local applets, nothing fetched
if make -C "$TOP" -j2 CONFIG=config/tiny.config BUILDDIR="$B/tiny" OUT="$B/tiny/dipus" >"$T/tiny.log" 2>&1; then
	pass "tiny.config builds"
	run file "$B/tiny/dipus"
	expect_grep "tiny build is statically linked" "statically linked" "$OUT"
	want=$(sed -n 's/^CONFIG_\([A-Z_]*\)=y$/\1/p' "$TOP/config/tiny.config" | tr 'A-Z_' 'a-z-' | grep -vxE 'tls|ssh' | sort | tr '\n' ' ')
	expect_eq "tiny --list is exactly tiny.config's applets" "$want" "$("$B/tiny/dipus" --list | sort | tr '\n' ' ')"
	expect_rc "an applet configured out is not there (exit 9)" 9 "$B/tiny/dipus" exporter
	expect_eq "...and says so in one line" "dipus: exporter: not built in this binary (see dipus --list)" "$(cat "$ERR")"
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
	[ "$size" -le 102400 ] && pass "tiny binary <= 100 KiB ($size bytes)" || fail "tiny binary <= 100 KiB" "$size bytes"
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
