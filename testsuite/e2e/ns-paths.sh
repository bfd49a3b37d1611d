# ns-paths.sh: how a root and an absolute path are spelled does not change what they
# reach: '//', '.' and '..' are normalised lexically before the no-link rules apply;
# a root root makes is a shared root (mkroot's modes) that an exporter dropped to
# nobody can serve; with no /tmp (Android), the default root is in $TMPDIR.
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_cmd "ns-paths" socat || exit 0
export DIPUS_HOST=h

# --- absolute paths spelled around the root's no-link rule ---
export DIPUS_ROOT=$T/pr
spawn "$DIPUS" local-pipe -1 'echo real' real/p >"$T/r1"
wait_for 5 test -s "$T/r1"
mkdir -p "$T/elsewhere/proto" "$T/x"
spawn socat UNIX-LISTEN:"$T/elsewhere/proto/out.h...0",fork EXEC:"echo outside"
wait_for 5 test -S "$T/elsewhere/proto/out.h...0"
ln -s "$T/elsewhere" "$DIPUS_ROOT/local/via"
expect_rc "the canonical spelling through a symlinked directory is refused" 1 \
	"$DIPUS" dcat "$DIPUS_ROOT/local/via/proto/out.h...0" </dev/null
for p in "$T//pr/local/via/proto/out.h...0" "$T/x/../pr/local/via/proto/out.h...0" \
         "$T/./pr/local//via/./proto/out.h...0" "/$DIPUS_ROOT/local/via/proto/out.h...0"; do
	run "$DIPUS" dcat "$p" </dev/null
	if [ "$RC" = 1 ] && ! grep -q outside "$OUT"; then pass "...and so is '$p'"
	else fail "...and so is '$p'" "exit $RC: $(cat "$OUT" "$ERR" | head -c 200)"; fi
	run "$DIPUS" dls "$p"
	expect_eq "...nor listed as '$p'" "1" "$RC"
done
REAL=$(cat "$T/r1")
run "$DIPUS" dcat "$T/x/..//pr/./${REAL#"$DIPUS_ROOT"/}" </dev/null
expect_eq "a real socket spelled with '..' and '//' is reached" "real" "$(cat "$OUT")"
mkdir -m 0700 "$T/real"; ln -s "$T/real" "$T/link"
expect_rc "DIPUS_ROOT=link/. is the link, refused" 4 env DIPUS_ROOT="$T/link/." "$DIPUS" dls
expect_grep "...because it is a link" "$T/link: is a symbolic link" "$ERR"
expect_rc "...so is DIPUS_ROOT=link//" 4 env DIPUS_ROOT="$T/link//" "$DIPUS" dls

# --- no /tmp: the default root is in $TMPDIR (a chroot holding only the binary) ---
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	CR=$T/cr
	mkdir -p "$CR/data" "$CR/proc"
	cp "$DIPUS" "$CR/dipus"
	# a dynamic build (the sanitizer's) also needs its libraries in there
	for lib in $(ldd "$DIPUS" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$CR$(dirname "$lib")" && cp -L "$lib" "$CR$lib"
	done
	# (no shell in there: the service is published, never connected to)
	spawn env -u DIPUS_ROOT TMPDIR=/data DIPUS_HOST=h chroot "$CR" /dipus local-pipe 'echo phone' ph
	wait_for 5 test -S "$CR/data/dipus/local/ph.h...0"
	expect_eq "no /tmp: a service is published in \$TMPDIR/dipus" "ph.h...0" "$(ls "$CR/data/dipus/local" 2>&1)"
	run env -u DIPUS_ROOT TMPDIR=/data chroot "$CR" /dipus dls -1
	expect_eq "...and dls finds it there" "ph.h" "$(cat "$OUT")"
	run env -u DIPUS_ROOT -u TMPDIR chroot "$CR" /dipus dls -1
	expect_eq "...without \$TMPDIR the default stays /tmp/dipus (nothing there)" "1:" "$RC:$(cat "$OUT")"
else
	skip "ns-paths/no-tmp" "needs root and chroot"
fi

# --- as root, with no mkroot: the root dipus makes is shared ---
if [ "$(id -u)" = 0 ] && "$DIPUS" --list | grep -qx exporter && "$DIPUS" --list | grep -qx export-pipe; then
	. "$TOP/testsuite/e2e/sep-lib.inc"
	sep_setup ns-paths
	EXP_ROOT=$T/shared/dipus
	mkdir -m 0755 "$T/shared"
	EXP_ENV=(env DIPUS_HOST=exp DIPUS_ROOT="$EXP_ROOT" DIPUS_CONF="$EXP_CONF")
	spawn "${EXP_ENV[@]}" "$DIPUS" export-pipe 'echo from-root' greet/p
	wait_for 5 sh -c "ls '$EXP_ROOT/exported/p' 2>/dev/null | grep -q greet"
	expect_eq "root's first publish makes a shared root (mkroot's modes)" \
		"1777 1777 1777 755 755" \
		"$(cd "$EXP_ROOT" && stat -c %a . local exported imported users | tr '\n' ' ' | sed 's/ $//')"
	exporter_start || fail "ns-paths/exporter" "did not start: $(tail -n 5 "$EXP_LOG")"
	run timeout 10 "$DIPUS" dcat "sep://127.0.0.1:$PORT/greet" </dev/null
	expect_eq "...which the exporter, dropped to nobody, offers" "from-root" "$(cat "$OUT")"
	if grep -q "nothing to offer" "$EXP_LOG"; then fail "...without a warning" "$(grep 'nothing to offer' "$EXP_LOG")"
	else pass "...without a warning"; fi
else
	skip "ns-paths/root-first" "needs root and the exporter"
fi
