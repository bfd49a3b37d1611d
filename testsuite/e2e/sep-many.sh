# sep-many: 200 concurrent channels on one SEP connection through import proxies, one
# of them with a reader that stops reading: the others finish; the exporter's and the
# importer's memory stays within what the windows allow; one TCP connection carries them all.
# timeout: 240
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-many
need_cmd sep-many socat || exit 0
N=${SEP_MANY:-200}

service in_exp echo test 'cat' || { fail sep-many/setup "echo service did not appear"; exit 1; }
exporter_start --max-channels 256 || { fail sep-many/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
import_start "sep://127.0.0.1:$PORT"
wait_for 10 have_proxy echo || { fail sep-many/setup "no proxy: $(tail -n 5 "$IMP_LOG")"; exit 1; }
P=$(proxy echo)
EXPP=$(pgrep -s "$EXP_PID" -f 'exporter' | head -n 1); EXPP=${EXPP:-$EXP_PID}
IMPP=$(pgrep -s "$IMP_PID" -f 'import' | head -n 1); IMPP=${IMPP:-$IMP_PID}
rss0_e=$(rss_kb "$EXPP") rss0_i=$(rss_kb "$IMPP")

# the stalled one: sends 64 MiB through the echo, and its reader stops reading
( gen 67108864 | socat - UNIX-CONNECT:"$P" | sleep 600 ) &
STALLER=$!
# its data stops at the windows: the client's reader, then the importer's window, the
# echo service, the exporter's window (2 x 256 KiB buffered, plus the 512 KiB output
# queue at most); 64 MiB kept anywhere would be past the bound below
sleep 2
rssS_e=$(rss_kb "$EXPP") rssS_i=$(rss_kb "$IMPP")

# 200 concurrent echo channels, each with 256 KiB
WANT=$(gen 262144 | sha256sum | cut -d' ' -f1)
mkdir -p "$T/many"
pids=""
for i in $(seq 1 "$N"); do
	# socat waits for the echo's end, however long. Its -t is how long it waits with no
	# data once our side hit EOF; at 30 s, a slow target (qemu-user) lost channels: 200
	# channels share its throughput fairly, so one channel can go more than 30 s
	# between two echoed chunks, and socat cut it short. The runner's limit bounds the
	# test (TEST_TIMEOUT_SCALE stretches it on slow targets).
	( r=$(gen 262144 | socat -t 100000 - UNIX-CONNECT:"$P" | sha256sum | cut -d' ' -f1)
	  [ "$r" = "$WANT" ] && : >"$T/many/ok.$i" ) &
	pids="$pids $!"
done
sleep 1
conns=$(ss -Htn state established "( dport = :$PORT )" | wc -l)
rss1_e=$(rss_kb "$EXPP") rss1_i=$(rss_kb "$IMPP")
for p in $pids; do wait "$p"; done
ok=$(ls "$T/many" | wc -l)
expect_eq "sep-many/$N-channels-finish" "$N" "$ok"
if [ "$ok" != "$N" ]; then  # why channels were lost: the two ends' own words
	echo "# exporter log:" >&2; grep -v ' open \| end ' "$EXP_LOG" | tail -n 15 >&2
	echo "# importer log:" >&2; grep -v ' open \| end ' "$IMP_LOG" | tail -n 15 >&2
fi
expect_eq sep-many/one-tcp-connection 1 "$conns"
rss2_e=$(rss_kb "$EXPP") rss2_i=$(rss_kb "$IMPP")
echo "# RSS kB exporter: idle $rss0_e, stalled $rssS_e, busy $rss1_e, after $rss2_e; importer: $rss0_i, $rssS_i, $rss1_i, $rss2_i" >&2
max_e=$(( rss1_e > rss2_e ? rss1_e : rss2_e )) max_i=$(( rss1_i > rss2_i ? rss1_i : rss2_i ))
# The bounds are what the windows allow (doc/exporter.md: channels x window per
# direction; the echoes wait in the other end's output queue, OUT_HIGH at most), as
# growth over idle, plus 8 MiB of slack for malloc's own. In the sanitizer build
# (check-sanitize) RSS is ASan's as much as ours: a 16 MiB quarantine of freed blocks,
# shadow memory (an eighth of what is touched), redzones, free lists per size class; so
# there the slack is 16 MiB and the windows count twice. CI's ASan exporter grew 51 MiB:
# its services read late and it held most of their windows (here they read at once, and
# it grows 12 MiB).
WIN=262144 OUT_HIGH=524288  # the default --window; core/sep-session.c's OUT_HIGH
slack=8192 win_factor=1
grep -q __asan_init "$DIPUS" && slack=16384 win_factor=2
stall_max=$(( (2 * WIN + OUT_HIGH) / 1024 + slack ))
busy_max=$(( win_factor * ((N + 1) * WIN + OUT_HIGH) / 1024 + slack ))
# rss_within CHECK GROWN_KB BOUND_KB
rss_within() { [ "$2" -lt "$3" ] && pass "sep-many/$1" || fail "sep-many/$1" "grew $2 kB, bound $3 kB"; }
rss_within exporter-rss-stalled-bounded $(( rssS_e - rss0_e )) "$stall_max"
rss_within importer-rss-stalled-bounded $(( rssS_i - rss0_i )) "$stall_max"
rss_within exporter-rss-bounded $(( max_e - rss0_e )) "$busy_max"
rss_within importer-rss-bounded $(( max_i - rss0_i )) "$busy_max"
# the session still works after all that, with the stalled channel still open
run sh -c "echo after | socat -t 5 - UNIX-CONNECT:'$P'"
expect_eq sep-many/still-works after "$(cat "$OUT")"
pkill -P "$STALLER" 2>/dev/null; kill "$STALLER" 2>/dev/null
exit 0
