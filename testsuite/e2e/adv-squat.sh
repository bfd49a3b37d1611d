# adv-squat.sh: another user's files and dead sockets named like every instance
# 0..999 of a service (`sq.h...0`-`...999`) in a sticky shared directory do not stop a
# publish of that name: the publisher skips them and takes a random free number above
# 999, which dcat and dls see; a free slot among the squatted ones is still the one
# taken; where sun_path leaves no room above ...999, the error names the cause
# (doc/namespace.md, "What a local user can and cannot do to you").
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root "adv-squat (needs two other users)" || exit 0
[ -x /usr/bin/python3 ] || { skip "adv-squat" "no /usr/bin/python3"; exit 0; }
A=dipus_t_sa$$ B=dipus_t_sb$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$A" || { fail "adv-squat/setup" "useradd $A"; exit 0; }
useradd -M -d /nonexistent -s /usr/sbin/nologin "$B" || { userdel "$A"; fail "adv-squat/setup" "useradd $B"; exit 0; }
cleanup_users() { userdel "$A"; userdel "$B"; }
on_exit cleanup_users
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"; }
AS_A=(setpriv --reuid "$A" --regid "$(id -g "$A")" --clear-groups)
# bob fills dir with sq.h...0 to ...999: regular files, and ten dead sockets of his
squat() {
	as "$B" /usr/bin/python3 - "$1" <<'PY'
import os, socket, sys
d = sys.argv[1]
for i in range(1000):
    p = "%s/sq.h...%d" % (d, i)
    if i % 100 == 7:
        s = socket.socket(socket.AF_UNIX)
        s.bind(p)
        s.close()  # bound, never listening: a dead socket bob owns
    else:
        open(p, "w").close()
PY
}
export DIPUS_HOST=h DIPUS_ROOT=$T/shared
"$DIPUS" mkroot -u "$A" -u "$B" || { fail "adv-squat/setup" "mkroot"; exit 0; }
squat "$DIPUS_ROOT/local"
expect_eq "bob squatted all 1000 names" 1000 "$(ls "$DIPUS_ROOT/local" | grep -c '^sq\.h\.\.\.')"

spawn "${AS_A[@]}" "$DIPUS" local-pipe -1 'echo alice' sq >"$T/a1" 2>"$T/a1.err"
wait_for 10 test -s "$T/a1"
base=$(basename "$(cat "$T/a1")")
if printf '%s\n' "$base" | grep -Eq '^sq\.h\.\.\.[1-9][0-9]{3,8}$'; then
	pass "alice's publish behind 1000 squatted names takes a number above 999 ($base)"
else
	fail "alice's publish behind 1000 squatted names takes a number above 999" \
		"got '$base': $(cat "$T/a1.err")"
fi
run as "$A" "$DIPUS" dcat sq </dev/null
expect_eq "...dcat sq reaches it" "alice" "$(cat "$OUT")"
run "$DIPUS" dcat sq.h </dev/null
expect_eq "...so does root's dcat sq.h" "alice" "$(cat "$OUT")"
run as "$A" "$DIPUS" dls --json sq
# (and bob's ten dead sockets, not his 990 regular files)
expect_eq "...dls lists it as alice's" "11 1" \
	"$(grep -c . "$OUT") $(grep -cF "\"rel\":\"$base\",\"owner\":\"$A\"" "$OUT")"
run "$DIPUS" reap -n
expect_eq "...and reap -n finds nothing of it to remove" "" "$(grep -F "/$base" "$OUT")"

# a free slot among the squatted ones is taken first
rm -f "$DIPUS_ROOT/local/sq.h...7"
spawn "${AS_A[@]}" "$DIPUS" local-pipe -1 'echo sq7' sq >"$T/a2"
wait_for 10 test -s "$T/a2"
expect_eq "a free slot among them is still the one taken" "sq.h...7" "$(basename "$(cat "$T/a2")")"

# no room above ...999 in sun_path: the publish fails, and says why and whose
# the root's length that leaves exactly "/local/sq.h...999" (17 bytes) of 107
pad=$(( 107 - 17 - ${#T} - 1 ))
if [ "$pad" -lt 1 ]; then
	skip "adv-squat/no-room" "test directory path too long ($T)"
else
	LR=$T/$(printf '%*s' "$pad" '' | tr ' ' r)
	DIPUS_ROOT=$LR "$DIPUS" mkroot -u "$A" -u "$B" || fail "adv-squat/setup" "mkroot $LR"
	squat "$LR/local"
	run as "$A" env DIPUS_ROOT="$LR" "$DIPUS" local-pipe cat sq
	[ "$RC" != 0 ] && pass "with no room above ...999, the publish fails" ||
		fail "with no room above ...999, the publish fails" "exit 0"
	expect_grep "...naming the cause" "every instance slot is taken by files not ours" "$ERR"
	expect_grep "...and whose files they are" "of $B" "$ERR"
fi
