# dcat.sh: dcat as a user runs it: by name, name.host, proto and path; a socat service;
# FILEs in order with - in the middle; binary data; errors and exit codes; a closed
# stdout; shared stdin/stdout left blocking; no busy waiting.
# timeout: 180
. "$TOP/testsuite/lib.sh"
setup_host one

publish() { # publish APPLET ARGS...: start a helper, wait for its readiness line; sets SOCK
	local f=$T/ready.$RANDOM
	spawn "$DIPUS" "$1" -1 "${@:2}" >"$f"
	wait_for 5 test -s "$f" || { fail "publish ${*: -1}" "no readiness line"; return 1; }
	SOCK=$(cat "$f")
}

publish local-pipe 'tr a-z A-Z' upper/text/plain/to/text/upper; UPPER=$SOCK
publish local-pipe cat cat/application/octet-stream; CAT=$SOCK
publish local-pipe 'wc -c' wc
publish local-pipe 'sleep 1; cat' slow
DIPUS_HOST=two publish local-pipe 'echo two' upper/text/plain/to/text/upper

# the ways to name a service
expect_eq "by name (this host's first)" "HELLO" "$(echo hello | "$DIPUS" dcat upper)"
expect_eq "by name.host" "two" "$(echo hello | "$DIPUS" dcat upper.two)"
expect_eq "by proto prefix" "HELLO" "$(echo hello | "$DIPUS" dcat text/plain/to)"
expect_eq "by absolute path" "HELLO" "$(echo hello | "$DIPUS" dcat "$UPPER")"

# a service dipus did not make: socat listening in the tree (directories 0700, ours)
if need_cmd "socat service" socat; then
	mkdir -m 0700 -p "$DIPUS_ROOT/local/x"
	spawn socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$DIPUS_ROOT/local/x/sc.one...0",fork EXEC:cat
	wait_for 5 test -S "$DIPUS_ROOT/local/x/sc.one...0"
	head -c 300000 /dev/urandom >"$T/rnd"
	"$DIPUS" dcat sc "$T/rnd" >"$T/rnd.out"
	expect_eq "a socat UNIX-LISTEN,fork EXEC:cat service, 300 KB intact" "$(sha "$T/rnd")" "$(sha "$T/rnd.out")"
	expect_eq "socat as a client of a dipus service" "SOCAT" \
		"$(echo socat | socat - UNIX-CONNECT:"$UPPER")"
fi

# FILEs in order, - in the middle (and twice), binary safe
printf 'one\n' >"$T/f1"
head -c 200000 /dev/urandom >"$T/f2"
printf '\0\377\0three' >"$T/f3"
printf 'from stdin\n' >"$T/in"
cat "$T/f1" "$T/f2" "$T/in" "$T/f3" >"$T/want"
"$DIPUS" dcat cat "$T/f1" "$T/f2" - "$T/f3" <"$T/in" >"$T/got"
expect_eq "FILEs in order, - is stdin, bytes intact" "$(sha "$T/want")" "$(sha "$T/got")"
"$DIPUS" dcat cat - "$T/f1" - <"$T/in" >"$T/got2"
expect_eq "- twice: stdin read until EOF, then again (nothing more)" "$(cat "$T/in" "$T/f1")" "$(cat "$T/got2")"
"$DIPUS" dcat cat "$T/f3" </dev/null >"$T/got3"
expect_eq "a FILE argument means stdin is not read" "$(sha "$T/f3")" "$(sha "$T/got3")"
expect_eq "empty input: the service still sees EOF" "0" "$("$DIPUS" dcat wc </dev/null | tr -d ' ')"
expect_eq "half-close: wc -c counts everything, then answers" "200000" "$("$DIPUS" dcat wc "$T/f2" | tr -d ' ')"

# errors and exit codes
expect_rc "no such service: exit 1" 1 "$DIPUS" dcat lame
expect_eq "no such service: the message" "dipus: dcat: lame: no such service (searched $DIPUS_ROOT)" "$(cat "$ERR")"
mkdir -p "$DIPUS_ROOT/local/dead"
for n in 0 1; do
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$DIPUS_ROOT/local/dead/gone.one...$n"
done
expect_rc "every match refuses: exit 1" 1 "$DIPUS" dcat gone
expect_eq "every match refuses: the message" "dipus: dcat: gone: no service reachable (2 tried; last: Connection refused)" "$(cat "$ERR")"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$DIPUS_ROOT/local/dead/upper.one...0"
expect_eq "a refusing match is skipped for the next one" "HELLO" "$(echo hello | "$DIPUS" dcat upper.one)"
expect_rc "no QUERY: exit 2" 2 "$DIPUS" dcat
expect_eq "usage error: one line that says how to get help" "dipus: dcat: needs a QUERY (see 'dipus dcat --help')" "$(cat "$ERR")"
expect_rc "unknown option: exit 2" 2 "$DIPUS" dcat -x upper
expect_rc "a bad query: exit 2" 2 "$DIPUS" dcat 'a/../b'
expect_rc "missing FILE: exit 3" 3 "$DIPUS" dcat wc "$T/f1" "$T/missing.wav"
expect_eq "missing FILE: the message" "dipus: dcat: $T/missing.wav: No such file or directory" "$(cat "$ERR")"
expect_eq "missing FILE: nothing was sent (checked before connecting)" "" "$(cat "$OUT")"
expect_rc "a directory as FILE: exit 3" 3 "$DIPUS" dcat wc "$T"
expect_grep "a directory as FILE: the message" "dipus: dcat: $T: Is a directory" "$ERR"
if [ "$(id -u)" != 0 ]; then
	printf x >"$T/secret"; chmod 000 "$T/secret"
	expect_rc "unreadable FILE: exit 3" 3 "$DIPUS" dcat wc "$T/secret"
	expect_grep "unreadable FILE: the message" "$T/secret: Permission denied" "$ERR"
else
	printf x >"$T/secret"; chmod 000 "$T/secret"
	expect_rc "unreadable FILE (as nobody): exit 3" 3 setpriv --reuid nobody --regid nogroup --clear-groups "$DIPUS" dcat "$CAT" "$T/secret"
	expect_grep "unreadable FILE: the message" "$T/secret: Permission denied" "$ERR"
fi
if ! "$DIPUS" --list | grep -qx exporter; then
	expect_rc "sep:// without remote support: exit 1" 1 "$DIPUS" dcat sep://far/lame
	expect_eq "sep:// without remote support: the message" "dipus: dcat: sep://far/lame: remote services are not available in this build" "$(cat "$ERR")"
	expect_rc "ssh:// without remote support: exit 1" 1 "$DIPUS" dcat ssh://far/lame
fi

# a closed stdout is a quiet end
run bash -c "head -c 50000000 /dev/zero | '$DIPUS' dcat cat | head -c 1 >/dev/null; echo \${PIPESTATUS[1]}"
expect_eq "dcat x | head -c 1: exit 0" "0" "$(cat "$OUT")"
expect_eq "dcat x | head -c 1: no message" "" "$(cat "$ERR")"
publish local-pipe 'yes' yes
run bash -c "'$DIPUS' dcat yes </dev/null | head -n 1; echo \${PIPESTATUS[0]}"
expect_eq "an endless service | head -n 1: one line, exit 0" "y 0" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
start=$(date +%s%N)
(echo hi; sleep 5) | { "$DIPUS" dcat slow; date +%s%N >"$T/end"; } | head -c 1 >/dev/null
ms=$(( ($(cat "$T/end") - start) / 1000000 ))
[ "$ms" -lt 4500 ] && pass "stdout's reader gone: dcat ends at once, not when stdin ends" ||
	fail "stdout's reader gone: dcat ends at once" "took $ms ms"

# stdin and stdout are shared with other processes: never made non-blocking
# (python prints on stderr the O_NONBLOCK bit of a descriptor it shares with dcat)
flags='import fcntl, os, sys; sys.stderr.write("%d" % (fcntl.fcntl(int(sys.argv[1]), fcntl.F_GETFL) & os.O_NONBLOCK))'
{ "$DIPUS" dcat slow </dev/null & sleep 0.5; python3 -c "$flags" 1 2>"$T/flag1"; wait; } | cat >/dev/null
expect_eq "a shared stdout stays blocking while dcat runs" "0" "$(cat "$T/flag1")"
(sleep 1.5; echo x) | { "$DIPUS" dcat cat <&3 >/dev/null & sleep 0.5; python3 -c "$flags" 3 2>"$T/flag0"; wait; } 3<&0
expect_eq "a shared stdin stays blocking while dcat runs" "0" "$(cat "$T/flag0")"

# no busy waiting: a second of waiting for the service costs (almost) no CPU
TIMEFORMAT='%U %S'
cpu=$( { time echo hi | "$DIPUS" dcat slow >/dev/null; } 2>&1 | awk '{print ($1 + $2) * 1000}')
[ "${cpu%.*}" -lt 300 ] && pass "waiting for a slow service does not spin (${cpu} ms CPU)" ||
	fail "waiting for a slow service does not spin" "${cpu} ms of CPU in about 1 s"
