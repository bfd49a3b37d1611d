# testsuite/lib.sh: sourced by every end-to-end test (bash).
#
#   . "$TOP/testsuite/lib.sh"
#   setup_host NAME          # private DIPUS_ROOT, DIPUS_HOST, DIPUS_CONF under $T
#   spawn CMD...             # start in the background (own process group); killed at exit
#   wait_for SECS CMD...     # poll CMD every 20 ms until it succeeds; 1 on timeout
#   run CMD...               # run, capturing $RC, $OUT (stdout file), $ERR (stderr file)
#   pass NAME / fail NAME WHY / skip NAME WHY
#   expect_rc NAME CODE CMD...      expect_eq NAME WANT GOT
#   expect_grep NAME PATTERN FILE   sha FILE
#   need_root NAME / need_cmd NAME CMD
#
# $T is a fresh temporary directory, removed with every spawned process on exit,
# also on failure or signal.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
DIPUS=${DIPUS:-$TOP/dipus}
T=$(mktemp -d "${TMPDIR:-/tmp}/dipus-t.XXXXXX")
chmod 755 "$T"
_pids=""
_cleanups=""

_lib_exit() {
	local p
	for p in $_pids; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
	sleep 0.1
	for p in $_pids; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
	for c in $_cleanups; do "$c" 2>/dev/null; done
	rm -rf "$T"
}
trap _lib_exit EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
# on_exit FN: call FN at exit (before $T is removed)
on_exit() { _cleanups="$_cleanups $1"; }

setup_host() {
	export DIPUS_HOST=$1
	export DIPUS_ROOT=$T/$1/root
	export DIPUS_CONF=$T/$1/conf
	mkdir -p "$T/$1"
}

# spawn CMD...: background job in its own process group; sets $SPAWNED to its pid
spawn() {
	setsid "$@" &
	SPAWNED=$!
	_pids="$_pids $SPAWNED"
}

wait_for() {
	local secs=$1; shift
	local end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
		sleep 0.02
	done
	return 0
}

_n=0
run() {
	_n=$((_n + 1))
	OUT=$T/out.$_n ERR=$T/err.$_n
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
	return 0
}

expect_rc() {
	local name=$1 want=$2; shift 2
	run "$@"
	if [ "$RC" = "$want" ]; then pass "$name"; return 0; fi
	fail "$name" "exit $RC, wanted $want: $(head -c 300 "$ERR")"
	return 1
}

expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; return 0; fi
	fail "$1" "wanted '$2', got '$3'"
	return 1
}

expect_grep() {
	if grep -qE -- "$2" "$3"; then pass "$1"; return 0; fi
	fail "$1" "no /$2/ in: $(head -c 300 "$3")"
	return 1
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip "$1" "needs root"
	return 1
}

need_cmd() {
	command -v "$2" >/dev/null 2>&1 && return 0
	skip "$1" "needs $2 (install it; .ci/run does)"
	return 1
}

# count of open fds of a process, and whether it has zombie children
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
zombies_of() { ps -o stat= --ppid "$1" 2>/dev/null | grep -c '^Z'; }
