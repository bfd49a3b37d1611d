# local.sh: the seed's idioms on one machine: publish with the helpers, find with dls
# (every format), use with dcat by name, name.host, proto and path; socat as a client
# and as a server; several FILEs in order; half-close; errors and exit codes.
# timeout: 120
. "$TOP/testsuite/lib.sh"
setup_host alpha

# publish_bg ARGS...: start a helper with -1 and wait for its readiness line
publish_bg() {
	local f=$T/ready.$RANDOM
	spawn "$DIPUS" "$1" -1 "${@:2}" >"$f"
	wait_for 5 test -s "$f" || { fail "publish $*" "no readiness line"; return 1; }
	READY=$(cat "$f")
}

publish_bg local-pipe 'tr a-z A-Z' upper/text/to/text
UPPER=$READY
expect_eq "-1 prints the socket path once listening" "$DIPUS_ROOT/local/text/to/text/upper.alpha...0" "$UPPER"
[ -S "$UPPER" ] && pass "the socket exists" || fail "the socket exists" "$UPPER"
publish_bg export-pipe 'cat' cat/application/octet-stream
CAT=$READY
publish_bg local-pipe 'wc -c' wc
DIPUS_HOST=beta publish_bg local-pipe 'echo beta' upper/text/to/text
BETA=$READY

# dls, every format
run "$DIPUS" dls
expect_grep "dls table has a header" "^NAME +HOST +PROTO +SCOPE" "$OUT"
expect_grep "dls table row" "^upper +alpha +text/to/text +local" "$OUT"
expect_grep "dls shows exported" "^cat +alpha +application/octet-stream +exported" "$OUT"
expect_eq "dls orders this host first" "upper alpha" "$(sed -n 2p "$OUT" | awk '{print $1, $2}')"
expect_eq "this host's services before another host's" "beta" "$(tail -n 1 "$OUT" | awk '{print $2}')"
run "$DIPUS" dls -1 upper
expect_eq "dls -1 NAME" "upper.alpha
upper.beta" "$(cat "$OUT")"
run "$DIPUS" dls -1 -f upper.beta
expect_eq "dls -1 -f name.host prints the path" "$BETA" "$(cat "$OUT")"
run "$DIPUS" dls -l cat
expect_grep "dls -l shows owner, group, mode" "^$(id -un) +$(id -gn) +0666 +cat " "$OUT"
run "$DIPUS" dls --json wc
expect_grep "dls --json has every field" '^\{"name":"wc","host":"alpha","proto":"","scope":"local","n":0,"path":"[^"]*/local/wc.alpha...0",.*"mode":"0666","untrusted":false\}$' "$OUT"
expect_rc "dls exits 1 when nothing matched" 1 "$DIPUS" dls nosuch
expect_grep "dls says what it searched" "dipus: dls: nosuch: no such service \(searched $DIPUS_ROOT\)" "$ERR"
expect_rc "dls proto prefix" 0 "$DIPUS" dls -1 text/to
expect_eq "dls proto prefix matches by components" "upper.alpha
upper.beta" "$(cat "$OUT")"
expect_rc "a partial component does not match" 1 "$DIPUS" dls text/t

# dcat by name, name.host, proto, path
expect_eq "dcat NAME" "HELLO" "$(echo hello | "$DIPUS" dcat upper)"
expect_eq "dcat NAME.HOST" "beta" "$(echo hello | "$DIPUS" dcat upper.beta)"
expect_eq "dcat PROTO" "HELLO" "$(echo hello | "$DIPUS" dcat text/to/text)"
expect_eq "dcat PATH" "HELLO" "$(echo hello | "$DIPUS" dcat "$UPPER")"
expect_eq "dcat one-word proto (no such name)" "HELLO" "$(echo hello | "$DIPUS" dcat text)"

# socat as a client, with the seed's idiom
if need_cmd "socat client" socat; then
	expect_eq "socat - UNIX-CONNECT:\$(dls -1 -f upper.alpha)" "SOCAT" \
		"$(echo socat | socat - UNIX-CONNECT:"$("$DIPUS" dls -1 -f upper.alpha)")"
	mkdir -p "$DIPUS_ROOT/local/rev"
	spawn socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$DIPUS_ROOT/local/rev/rev.alpha...0",fork EXEC:rev
	wait_for 5 test -S "$DIPUS_ROOT/local/rev/rev.alpha...0"
	expect_eq "dcat uses a socat UNIX-LISTEN service" "cba" "$(echo abc | "$DIPUS" dcat rev)"
fi

# several FILE arguments in order, - in the middle, binary safe
printf 'one\n' >"$T/f1"; head -c 100000 /dev/urandom >"$T/f2"; printf 'three\n' >"$T/f3"
cat "$T/f1" "$T/f2" - "$T/f3" >"$T/want" <<<"from stdin"
echo "from stdin" | "$DIPUS" dcat cat "$T/f1" "$T/f2" - "$T/f3" >"$T/got"
expect_eq "FILEs go in order, - is stdin, bytes intact" "$(sha "$T/want")" "$(sha "$T/got")"

# half-close: wc -c sees EOF and answers
expect_eq "half-close: a wc -c service answers" "100000" "$(head -c 100000 /dev/zero | "$DIPUS" dcat wc | tr -d ' ')"

# errors
expect_rc "no such service exits 1" 1 "$DIPUS" dcat nosuch
expect_grep "no such service message" "^dipus: dcat: nosuch: no such service \(searched $DIPUS_ROOT\)$" "$ERR"
expect_rc "missing FILE exits 3" 3 "$DIPUS" dcat cat "$T/missing"
expect_grep "missing FILE names it" "dipus: dcat: $T/missing: No such file or directory" "$ERR"
expect_rc "no QUERY is a usage error" 2 "$DIPUS" dcat
expect_rc "unknown option is a usage error" 2 "$DIPUS" dcat -Z x
run bash -c "head -c 10000000 /dev/zero | '$DIPUS' dcat cat | head -c 1 >/dev/null; echo \${PIPESTATUS[1]}"
expect_eq "a closed stdout ends dcat quietly" "0" "$(cat "$OUT")"
expect_eq "...without a message" "" "$(grep 'dipus: dcat' "$ERR")"

# a dead socket is skipped for the next match
# (local/a/ sorts before local/text/, so the dead one is tried first)
mkdir -p "$DIPUS_ROOT/local/a"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$DIPUS_ROOT/local/a/upper.alpha...0"
expect_eq "the dead match is listed first" "$DIPUS_ROOT/local/a/upper.alpha...0" "$("$DIPUS" dls -f upper.alpha | head -n 1)"
expect_eq "dcat moves on when a match refuses" "HELLO" "$(echo hello | "$DIPUS" dcat upper.alpha)"
