# ns-users.sh: what a local user can and cannot do to another in a shared root
# (doc/namespace.md): a socket in imported/ that is not the importer's is never
# trusted; another ordinary user's socket never shadows the caller's own or root's for
# the same query, nor does a local/ socket naming another host shadow the real one.
# (Squatters of instance names: adv-squat.sh.)
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root "ns-users (needs two other users)" || exit 0
[ -x /usr/bin/python3 ] || { skip "ns-users" "no /usr/bin/python3"; exit 0; }
A=dipus_t_ua$$ B=dipus_t_ub$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$A" || { fail "ns-users/setup" "useradd $A"; exit 0; }
useradd -M -d /nonexistent -s /usr/sbin/nologin "$B" || { userdel "$A"; fail "ns-users/setup" "useradd $B"; exit 0; }
cleanup_users() { userdel "$A"; userdel "$B"; }
on_exit cleanup_users
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"; }
# (spawn runs a command, not a function)
AS_A=(setpriv --reuid "$A" --regid "$(id -g "$A")" --clear-groups)
AS_B=(setpriv --reuid "$B" --regid "$(id -g "$B")" --clear-groups)
PY=/usr/bin/python3  # the system's: a user need not reach root's python shims
SERVE='import socket,sys,os
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1],0o666); s.listen(8)
while True:
    c,_=s.accept(); c.sendall(sys.argv[2].encode()+b"\n"); c.close()'
export DIPUS_HOST=h DIPUS_ROOT=$T/shared
"$DIPUS" mkroot -u "$A" -u "$B" || { fail "ns-users/setup" "mkroot"; exit 0; }

# --- imported/ is the importer's (root's here) ---
expect_eq "mkroot: imported/ is root's 0755 (nobody else puts a socket there)" "755 root" \
	"$(stat -c '%a %U' "$DIPUS_ROOT/imported")"
# a root that an older mkroot left 1777: a user's socket there is still not trusted
chmod 1777 "$DIPUS_ROOT/imported"
as "$B" mkdir "$DIPUS_ROOT/imported/zz"
spawn "${AS_B[@]}" "$PY" -c "$SERVE" "$DIPUS_ROOT/imported/zz/svc.hA...0" squatter
wait_for 5 test -S "$DIPUS_ROOT/imported/zz/svc.hA...0"
run "$DIPUS" dcat svc.hA </dev/null
if [ "$RC" != 0 ] && ! grep -q squatter "$OUT"; then pass "root's dcat never reaches a user's socket in imported/"
else fail "root's dcat never reaches a user's socket in imported/" "exit $RC: $(cat "$OUT")"; fi
run as "$A" "$DIPUS" dcat svc.hA </dev/null
if [ "$RC" != 0 ] && ! grep -q squatter "$OUT"; then pass "...nor another user's"
else fail "...nor another user's" "exit $RC: $(cat "$OUT")"; fi
run "$DIPUS" dls -l svc.hA
expect_grep "dls -l shows it UNTRUSTED, with its owner" "^.*$B .*UNTRUSTED" "$OUT"
chmod 0755 "$DIPUS_ROOT/imported"

# --- local/: another user's socket never shadows ours or root's ---
spawn "${AS_B[@]}" "$DIPUS" local-pipe -1 'echo bob' lame >"$T/b1"
wait_for 5 test -s "$T/b1"
spawn "${AS_A[@]}" "$DIPUS" local-pipe -1 'echo alice' lame >"$T/a1"
wait_for 5 test -s "$T/a1"
expect_eq "bob's lame took ...0, alice's ...1" "lame.h...0 lame.h...1" \
	"$(basename "$(cat "$T/b1")") $(basename "$(cat "$T/a1")")"
run as "$A" "$DIPUS" dcat lame </dev/null
expect_eq "alice's dcat lame reaches her own, not bob's" "alice" "$(cat "$OUT")"
run as "$A" "$DIPUS" dls -l lame
expect_grep "dls -l names each owner" "$B" "$OUT"
run as "$A" "$DIPUS" dls --json lame
expect_grep "dls --json too" "\"owner\":\"$B\"" "$OUT"
# another host's name in local/: root's import of the real one wins
spawn "${AS_B[@]}" env DIPUS_HOST=hA "$DIPUS" local-pipe -1 'echo fake' far >"$T/b2"
wait_for 5 test -s "$T/b2"
mkdir -p "$DIPUS_ROOT/imported"
spawn "$PY" -c "$SERVE" "$DIPUS_ROOT/imported/far.hA...0" real
wait_for 5 test -S "$DIPUS_ROOT/imported/far.hA...0"
run as "$A" "$DIPUS" dcat far.hA </dev/null
expect_eq "a local/ socket naming host hA does not shadow root's import from hA" "real" "$(cat "$OUT")"
run "$DIPUS" dcat far.hA </dev/null
expect_eq "...for root either" "real" "$(cat "$OUT")"

