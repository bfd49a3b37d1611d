# ns-monitor.sh: service-monitor and dls -w as a user watches them: what exists first,
# then one '+'/'-' line per change within 1 s: a root made later, directories made later,
# a directory moved in with a socket already inside, a replaced socket, nothing for the
# temporary publish name; clean exits on signals and a closed reader; no fd growth, no
# busy loop. (monitor.sh was merged in here: dls -w without -f prints "+ name.host".)
# timeout: 120
. "$TOP/testsuite/lib.sh"
setup_host m

# seen FILE LINE: the exact line shows up in FILE within 1 s
seen() { wait_for 1 grep -qxF -- "$2" "$1"; }

# the root does not exist yet: the monitor waits for it
spawn "$DIPUS" service-monitor >"$T/all"
MON=$SPAWNED
spawn "$DIPUS" dls -w -1 -f svc >"$T/w"
spawn "$DIPUS" dls -w -1 svc >"$T/wn"
spawn "$DIPUS" dls -w --json svc >"$T/wj"
sleep 0.3
spawn "$DIPUS" local-pipe -1 cat svc/a/b/c >"$T/r1"
P1SVC=$SPAWNED
wait_for 5 test -s "$T/r1"; P1=$(cat "$T/r1")
seen "$T/all" "+ $P1" && pass "a root made after the monitor started: + PATH within 1 s" \
	|| fail "a root made later: + PATH within 1 s" "$(cat "$T/all")"
seen "$T/w" "+ $P1" && pass "dls -w -f: + PATH within 1 s" || fail "dls -w -f: + PATH" "$(cat "$T/w")"
seen "$T/wn" "+ svc.m" && pass "dls -w -1: + name.host within 1 s" || fail "dls -w -1: + name.host" "$(cat "$T/wn")"

# directories made later, deep
spawn "$DIPUS" local-pipe -1 cat deep/x/y/z/w >"$T/r2"
wait_for 5 test -s "$T/r2"; P2=$(cat "$T/r2")
seen "$T/all" "+ $P2" && pass "new nested directories: + PATH within 1 s" || fail "new nested directories" "$(cat "$T/all")"
expect_eq "one + line per publish (the rename), never the temporary name" "1 1 0" \
	"$(grep -cxF "+ $P1" "$T/all") $(grep -cxF "+ $P2" "$T/all") $(grep -c '\.tmp' "$T/all")"
expect_eq "dls -w QUERY reports only what matches" "+ $P1" "$(cat "$T/w")"

# a directory made elsewhere, with a live socket already inside, moved into the tree
moved=0
if need_cmd "directory moved in" socat; then
	moved=1
	mkdir -p "$T/stage/moved"
	spawn socat UNIX-LISTEN:"$T/stage/moved/mv.m...0",fork EXEC:cat
	wait_for 5 test -S "$T/stage/moved/mv.m...0"
	mv "$T/stage/moved" "$DIPUS_ROOT/local/moved"
	seen "$T/all" "+ $DIPUS_ROOT/local/moved/mv.m...0" && pass "a directory moved in with a socket inside: + within 1 s" \
		|| fail "a directory moved in" "$(cat "$T/all")"
fi

# vanishing
kill -TERM "$P1SVC"
seen "$T/all" "- $P1" && pass "SIGTERM to a helper: - PATH within 1 s" || fail "- PATH within 1 s" "$(cat "$T/all")"
seen "$T/w" "- $P1" && pass "dls -w -f: - PATH within 1 s" || fail "dls -w -f: - PATH" "$(cat "$T/w")"
seen "$T/wn" "- svc.m" && pass "dls -w -1: - name.host within 1 s" || fail "dls -w -1: - name.host" "$(cat "$T/wn")"
# (the directory moved in above: only there when it was made)
if [ "$moved" = 1 ]; then
	rm -rf "$DIPUS_ROOT/local/moved"
	seen "$T/all" "- $DIPUS_ROOT/local/moved/mv.m...0" && pass "a directory removed: - for the socket in it" \
		|| fail "a directory removed" "$(cat "$T/all")"
fi

# a dead socket replaced by a new publisher at the same path: - then +
spawn "$DIPUS" local-pipe -1 cat again >"$T/r3"
A=$SPAWNED
wait_for 5 test -s "$T/r3"; P3=$(cat "$T/r3")
seen "$T/all" "+ $P3"
kill -KILL "$A"
sleep 0.2
spawn "$DIPUS" local-pipe -1 cat again >"$T/r4"
wait_for 5 test -s "$T/r4"
expect_eq "the dead socket's name is reused" "$P3" "$(cat "$T/r4")"
wait_for 1 sh -c "[ \$(grep -cxF -- '+ $P3' '$T/all') = 2 ]"
expect_eq "a replaced socket reads as - PATH then + PATH" "+ $P3|- $P3|+ $P3" \
	"$(grep -xF -e "+ $P3" -e "- $P3" "$T/all" | tr '\n' '|' | sed 's/|$//')"

# dls -w --json: present / appeared / vanished
run "$DIPUS" dls --json svc
wait_for 1 grep -q '"event":"vanished"' "$T/wj"
expect_eq "dls -w --json: appeared, then vanished, for svc" "appeared vanished" \
	"$(sed -n 's/.*"event":"\([a-z]*\)".*/\1/p' "$T/wj" | tr '\n' ' ' | sed 's/ $//')"

# what exists is listed first
run timeout 2 "$DIPUS" service-monitor deep
expect_eq "service-monitor QUERY lists what exists first, then waits (killed by timeout)" "+ $P2|124" "$(cat "$OUT")|$RC"
run timeout 2 "$DIPUS" dls -w -1 deep
expect_eq "dls -w lists what exists first, without a prefix" "deep.m" "$(cat "$OUT")"

# no descriptor growth, no busy loop
fds0=$(fd_count "$MON")
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$DIPUS" local-pipe -1 cat "churn$i/c/$i" >"$T/c" & CP=$!
	wait_for 5 test -s "$T/c"; : >"$T/c"
	kill -TERM "$CP"; wait "$CP" 2>/dev/null
	rm -rf "$DIPUS_ROOT/local/c"
done
wait_for 1 grep -qF -- "- $DIPUS_ROOT/local/c/10/churn10.m...0" "$T/all"
expect_eq "the monitor holds no more descriptors after churn" "$fds0" "$(fd_count "$MON")"
t1=$(awk '{print $14 + $15}' "/proc/$MON/stat"); sleep 1; t2=$(awk '{print $14 + $15}' "/proc/$MON/stat")
[ $((t2 - t1)) -le 5 ] && pass "an idle monitor does not spin ($((t2 - t1)) ticks in 1 s)" || fail "an idle monitor does not spin" "$((t2 - t1)) ticks in 1 s"

# clean ends
kill -TERM "$MON"; wait "$MON"; rc=$?
expect_eq "SIGTERM: exit 0" "0" "$rc"
spawn "$DIPUS" service-monitor >/dev/null; M2=$SPAWNED
sleep 0.2
kill -INT "$M2"; wait "$M2"; rc=$?
expect_eq "SIGINT: exit 0" "0" "$rc"
( "$DIPUS" service-monitor | head -n 1 >"$T/head" ) & PIPE=$!
wait_for 5 test -s "$T/head"
spawn "$DIPUS" local-pipe -1 cat poke >/dev/null
if wait_for 5 sh -c "! kill -0 $PIPE 2>/dev/null"; then pass "a reader that goes away ends the monitor"
else fail "a reader that goes away ends the monitor" "still running"; fi

# usage
expect_rc "two queries: usage error" 2 "$DIPUS" service-monitor a b
expect_rc "unknown option: usage error" 2 "$DIPUS" service-monitor -x
expect_grep "...naming it" "dipus: service-monitor: unknown option -x" "$ERR"
expect_rc "a bad query: usage error" 2 "$DIPUS" service-monitor 'a//b'
mkdir "$T/open"; chmod 0777 "$T/open"
expect_rc "an unsafe root: exit 4" 4 env DIPUS_ROOT="$T/open" "$DIPUS" service-monitor
expect_grep "...with the reason" "world-writable without the sticky bit" "$ERR"
