# ns-dls.sh: dls as a user reads it: every format, query forms, union and order of
# several queries, exit codes and messages, JSON that parses, the seed's socat idiom.
# timeout: 120
. "$TOP/testsuite/lib.sh"
setup_host here

# pub NAME/PROTO [HOST]: a cat service published by the helper; sets $READY to its path
pub() {
	local f=$T/ready.$RANDOM
	DIPUS_HOST=${2:-here} spawn "$DIPUS" local-pipe -1 cat "$1" >"$f"
	wait_for 5 test -s "$f" || { fail "publish $1" "no readiness line"; return 1; }
	READY=$(cat "$f")
}

# nothing at all: quiet, exit 1; a query that matches nothing says what it searched
expect_rc "dls on a root that does not exist exits 1" 1 "$DIPUS" dls
expect_eq "...and prints nothing" "" "$(cat "$OUT" "$ERR")"
[ ! -e "$DIPUS_ROOT" ] && pass "listing does not create the root" || fail "listing does not create the root" "created"
expect_rc "dls QUERY with no match exits 1" 1 "$DIPUS" dls lame
expect_eq "...with the message on stderr only" "dipus: dls: lame: no such service (searched $DIPUS_ROOT)|" \
	"$(cat "$ERR")|$(cat "$OUT")"

pub lame/audio/x-wav/to/audio/mpeg; LAME=$READY
pub madplay/audio/mpeg/to/audio/out; MAD=$READY
pub upper/text/to/text; UPPER=$READY
pub plain; PLAIN=$READY
pub lame/audio/x-wav/to/audio/mpeg far; FARLAME=$READY
DIPUS_HOST=here spawn "$DIPUS" export-pipe -1 cat ex/text >"$T/ex"
wait_for 5 test -s "$T/ex"; EX=$(cat "$T/ex")

expect_eq "the root was created 0700 (a private namespace; made by root: shared, 1777)" "$([ "$(id -u)" = 0 ] && echo 1777 || echo 700)" "$(stat -c %a "$DIPUS_ROOT")"

# the table
run "$DIPUS" dls
expect_grep "table header" "^NAME +HOST +PROTO +SCOPE$" "$OUT"
expect_eq "table: this host first, local before exported, path order, other hosts last" \
	"madplay here local|lame here local|plain here local|upper here local|ex here exported|lame far local" \
	"$(sed 1d "$OUT" | awk '{printf "%s %s %s|", $1, $2, $4}' | sed 's/|$//')"
expect_grep "an empty proto shows as -" "^plain +here +- +local$" "$OUT"

# -1, -f, -1 -f
run "$DIPUS" dls -1
expect_eq "-1: one name.host per line" "madplay.here lame.here plain.here upper.here ex.here lame.far" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
run "$DIPUS" dls -f lame
expect_eq "-f: full paths, this host first" "$LAME $FARLAME" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
run "$DIPUS" dls -1 -f lame.far
expect_eq "-1 -f NAME.HOST: exactly that path" "$FARLAME" "$(cat "$OUT")"
if need_cmd "socat idiom" socat; then
	expect_eq "socat - UNIX-CONNECT:\$(dls -1 -f lame) talks to lame" "hello" \
		"$(echo hello | socat - UNIX-CONNECT:"$("$DIPUS" dls -1 -f lame | head -n 1)")"
fi

# query forms
run "$DIPUS" dls -1 audio/x-wav/to/audio/mpeg
expect_eq "proto: the full proto" "lame.here lame.far" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
run "$DIPUS" dls -1 audio
expect_eq "a word matches the first proto component too" "madplay.here lame.here lame.far" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
run "$DIPUS" dls -1 audio/mpeg
expect_eq "proto prefix by whole components" "madplay.here" "$(cat "$OUT")"
expect_rc "a partial component matches nothing" 1 "$DIPUS" dls audio/mp
expect_rc "a proto not at the start matches nothing" 1 "$DIPUS" dls mpeg/to
run "$DIPUS" dls -1 "$EX"
expect_eq "an absolute path: that socket" "ex.here" "$(cat "$OUT")"
expect_rc "an absolute path that is not a socket: exit 1" 1 "$DIPUS" dls "$DIPUS_ROOT/local"

# several queries: union, each once, resolver order (not query order)
run "$DIPUS" dls -1 upper lame audio/x-wav lame.here nosuch
expect_eq "several queries: union, no duplicates, resolver order" "lame.here upper.here lame.far" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
expect_eq "...exit 0 as something matched" "0" "$RC"
expect_eq "...and the one that matched nothing is named" "dipus: dls: nosuch: no such service (searched $DIPUS_ROOT)" "$(cat "$ERR")"

# -l
run "$DIPUS" dls -l plain
expect_grep "-l header" "^OWNER +GROUP +MODE +NAME +HOST +PROTO +SCOPE +FLAGS$" "$OUT"
expect_grep "-l row: owner group mode ... flags" "^$(id -un) +$(id -gn) +0666 +plain +here +- +local +-$" "$OUT"

# --json: one object per line, every field, valid JSON
run "$DIPUS" dls --json
cp "$OUT" "$T/all.json"
expect_eq "--json: one line per service" "6" "$(wc -l <"$T/all.json")"
PY=$(command -v /usr/bin/python3 || command -v python3)
if need_cmd "json with odd names" python3 && need_cmd "json with odd names" socat; then
	# names with JSON-special bytes, and a proto directory that is not UTF-8
	DIPUS_HOST=here spawn "$DIPUS" local-pipe -1 cat 'q"b\s/x' >"$T/q"
	wait_for 5 test -s "$T/q"
	W="$DIPUS_ROOT/local/$(printf 'bad\377')"
	mkdir -p "$W"
	spawn socat UNIX-LISTEN:"$W/weird.here...0",fork EXEC:cat
	wait_for 5 "$DIPUS" dls weird
	run "$DIPUS" dls --json 'q"b\s' weird
	run "$PY" -c '
import json, sys
keys = ["name","host","proto","scope","n","path","rel","owner","uid","group","gid","mode","untrusted"]
for line in open(sys.argv[1]):
    o = json.loads(line)
    missing = [k for k in keys if k not in o]
    if missing: sys.exit("missing %s in %s" % (missing, line))
for line in open(sys.argv[2]):
    o = json.loads(line)
    print(o["name"], o["proto"])' "$T/all.json" "$OUT"
	expect_eq "--json: every line parses and has every field; quotes and backslashes escaped, bytes that are not UTF-8 replaced" \
		"$(printf 'weird bad\357\277\275\nq"b\\s x')" "$(cat "$OUT" "$ERR")"
fi

# options and usage
expect_rc "unknown option: exit 2" 2 "$DIPUS" dls -Z
expect_eq "...one line saying which and how to get help" "dipus: dls: unknown option -Z (see 'dipus dls --help')" "$(cat "$ERR")"
expect_rc "unknown long option: exit 2" 2 "$DIPUS" dls --jsn
expect_rc "-h prints usage" 0 "$DIPUS" dls -h
expect_grep "...on stdout" "^usage: dls" "$OUT"
expect_rc "a bad query is a usage error" 2 "$DIPUS" dls 'a//b'
expect_grep "...with the reason" "a//b: empty component" "$ERR"
if ! "$DIPUS" --version | grep -q 'features:.*\(tls\|ssh\)'; then
	expect_rc "sep:// without TLS/SSH in the build: exit 1" 1 "$DIPUS" dls sep://h/x
	expect_grep "...says so, never pretends" "dipus: dls: sep://h/x: remote queries are not available in this build" "$ERR"
fi
expect_rc "-w with a remote query is refused" 2 "$DIPUS" dls -w ssh://h
run bash -c "'$DIPUS' dls -1 | head -n 1"
expect_eq "a closed stdout ends dls quietly" "madplay.here|" "$(cat "$OUT")|$(grep -v '^$' "$ERR")"
