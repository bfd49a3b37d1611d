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
#   need_root NAME / need_cmd NAME CMD [PACKAGE] / need_applet NAME APPLET...
#   need_mdns_platform NAME  # under qemu (CROSS_CC): a probe; lacking, skip_emulator
#
# Skips (the rule testsuite/run enforces):
#   need_cmd     a peer program the test runs against is required: missing, it is a
#                FAIL naming the Debian package to install (scripts/setup.sh --test).
#   need_applet  an applet this configuration does not build: "SKIP: NAME: not
#                configured: ..." (optional, never a failure); if $DIPUS_CONFIG enables
#                it but the binary lacks it, a FAIL.
#   need_root    as a user, a SKIP; as root it never skips.
#   skip_emulator  only under an emulator (make check CROSS=ARCH: $CROSS_CC set), after a
#                probe of the very feature showed the emulator lacks it: "SKIP: NAME:
#                emulator lacks: ..." (optional; doc/build.md lists each).
#   skip         any other SKIP: testsuite/run counts it as a failure when run as root.
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

# socat as a test's service (socat -t "$SOCAT_SVC_T" UNIX-LISTEN:...,fork SYSTEM:cat): once
# the connection's input ends, socat waits -t seconds for the program's output to move
# on, then closes. Its default, 0.5 s, cut echoes short on slow targets (qemu-user in
# CI): channels sharing one session can each wait longer than that for their turn, and
# the lost tail looked like lost data. The test's own time limit bounds it.
SOCAT_SVC_T=600

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }
# the one optional kind of skip: a feature this build was configured without
skip_unconfigured() { echo "SKIP: $1: not configured: $2"; }
# the other: what qemu-user lacks for this target, shown by a probe (never natively)
skip_emulator() {
	if [ -n "${CROSS_CC:-}" ]; then echo "SKIP: $1: emulator lacks: $2"
	else skip "$1" "$2 (natively: not an emulator's lack)"; fi
}

# need_mdns_platform NAME: under an emulator (CROSS_CC set), does it give a target program
# what dipus's mDNS needs (testsuite/lib/mdns-probe.c: getifaddrs, IP_PKTINFO, joining
# IPv4 multicast by index)? Lacking, skip_emulator and 1; natively 0 without a probe. For
# tests whose dipus processes run mDNS (qemu 7.2: on big-endian MIPS getifaddrs never
# returns; on aarch64 IP_ADD_MEMBERSHIP loses the index; doc/build.md).
need_mdns_platform() {
	[ -n "${CROSS_CC:-}" ] || return 0
	"$CROSS_CC" -static -O2 -o "$T/mdns-probe" "$TOP/testsuite/lib/mdns-probe.c" 2>"$T/mdns-probe.err" ||
		{ fail "$1/probe" "cannot build testsuite/lib/mdns-probe.c with $CROSS_CC: $(head -c 300 "$T/mdns-probe.err")"; return 1; }
	local why
	why=$(timeout 20 "$T/mdns-probe") && return 0
	skip_emulator "$1" "${why:-the mDNS probe did not finish in 20 s}"
	return 1
}
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

# wait_for SECS CMD...: until CMD succeeds, at most SECS seconds (times TEST_TIMEOUT_SCALE:
# a slow target, qemu-user, gets more time for what it has to do; a bound, not a timing)
wait_for() {
	local secs=$(( $1 * ${TEST_TIMEOUT_SCALE:-1} )); shift
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

# the Debian package of a peer program the tests run (scripts/setup.sh --test has them all)
_pkg_of() {
	case ${1##*/} in
	socat) echo socat ;;
	sshd) echo openssh-server ;;
	ssh | ssh-keygen) echo openssh-client ;;
	dropbear | dropbearkey | dropbearconvert) echo dropbear-bin ;;
	openssl) echo openssl ;;
	ip) echo iproute2 ;;
	python3) echo python3 ;;
	musl-gcc) echo musl-tools ;;
	setpriv | flock | unshare | setsid) echo util-linux ;;
	useradd | userdel | groupadd) echo passwd ;;
	avahi-publish | avahi-browse) echo avahi-utils ;;
	lame) echo lame ;;
	madplay) echo madplay ;;
	*) echo "the one providing ${1##*/}" ;;
	esac
}

# need_cmd NAME CMD [PACKAGE]: a peer the test needs; missing, the test FAILs (never skips)
need_cmd() {
	command -v "$2" >/dev/null 2>&1 && return 0
	fail "$1" "needs $2: install Debian package ${3:-$(_pkg_of "$2")} (scripts/setup.sh --test)"
	return 1
}

# need_applet NAME APPLET...: 0 if the binary has every APPLET; else an optional skip
# when the configuration leaves one out, a FAIL when the configuration has it.
need_applet() {
	local name=$1 a sym
	shift
	for a in "$@"; do
		"$DIPUS" --list 2>/dev/null | grep -qx -- "$a" && continue
		sym=CONFIG_$(echo "$a" | tr 'a-z-' 'A-Z_')
		if [ -n "${DIPUS_CONFIG:-}" ] && grep -qx "$sym=y" "$DIPUS_CONFIG" 2>/dev/null; then
			fail "$name" "$DIPUS_CONFIG has $sym=y but $DIPUS has no '$a' applet"
		else
			skip_unconfigured "$name" "this build has no '$a' applet"
		fi
		return 1
	done
	return 0
}

# count of open fds of a process, and whether it has zombie children
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
zombies_of() { ps -o stat= --ppid "$1" 2>/dev/null | grep -c '^Z'; }
