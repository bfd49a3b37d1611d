# sep-limits: the exporter's bounds: more peers than --max-peers, more channels than
# --max-channels, a peer that opens TCP and says nothing (handshake timeout): the
# offender is refused or dropped with a logged reason, the others go on.
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-limits
need_cmd sep-limits socat || exit 0
need_cmd sep-limits openssl || exit 0

service in_exp echo test 'cat' || { fail sep-limits/setup "echo service did not appear"; exit 1; }
# 4 channels: the importer's WATCH plus three connections
exporter_start --max-peers 2 --max-channels 4 --handshake-timeout 3 ||
	{ fail sep-limits/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
U=sep://127.0.0.1:$PORT
KEY=$CLI_CONF/key.pem CERT=$CLI_CONF/cert.pem

# --- handshake timeout: TCP open, nothing said
t0=$(date +%s%N)
run timeout 10 socat -T 20 -u TCP:127.0.0.1:"$PORT" -
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ "$RC" != 124 ] && [ "$ms" -ge 2500 ] && [ "$ms" -lt 6000 ]; then pass sep-limits/silent-peer-dropped
else fail sep-limits/silent-peer-dropped "rc $RC after $ms ms"; fi
wait_for 3 grep -qi 'handshake' "$EXP_LOG"
expect_grep sep-limits/handshake-timeout-logged '127\.0\.0\.1.*handshake.*(time|timed)' "$EXP_LOG"

# --- peers: a second exporter (long handshake bound, so the holders stay), two peers
# held by openssl s_client with an authorized key, the third refused
PPORT=$(free_port)
PLOG=$T/peers.log
spawn "${EXP_ENV[@]}" bash -c 'exec "$0" exporter -v --listen "127.0.0.1:$1" --max-peers 2 --handshake-timeout 30 2>>"$2"' \
	"$DIPUS" "$PPORT" "$PLOG"
PEXP=$SPAWNED
wait_for 10 port_listening "$PPORT"
echo "127.0.0.1:$PPORT $EXP_FP" >>"$CLI_CONF/known_hosts"
( sleep 30 | openssl s_client -quiet -connect 127.0.0.1:"$PPORT" -tls1_3 -cert "$CERT" -key "$KEY" >/dev/null 2>&1 ) &
H1=$!
( sleep 30 | openssl s_client -quiet -connect 127.0.0.1:"$PPORT" -tls1_3 -cert "$CERT" -key "$KEY" >/dev/null 2>&1 ) &
H2=$!
wait_for 10 sh -c "[ \$(grep -c 'authenticated' '$PLOG') -ge 2 ]"
run timeout 10 "$DIPUS" dls "sep://127.0.0.1:$PPORT"
if [ "$RC" != 0 ] && [ "$RC" != 124 ]; then pass sep-limits/third-peer-refused
else fail sep-limits/third-peer-refused "rc $RC: $(head -c 200 "$OUT")"; fi
expect_grep sep-limits/peer-limit-logged '127\.0\.0\.1.*(peers|max-peers)' "$PLOG"
pkill -P "$H1"; pkill -P "$H2"; kill "$H1" "$H2" 2>/dev/null
if wait_for 10 "$DIPUS" dls "sep://127.0.0.1:$PPORT"; then pass sep-limits/peers-again-after-they-leave
else fail sep-limits/peers-again-after-they-leave "dls still refused"; fi
kill -TERM "$PEXP" 2>/dev/null

# --- channels: three held open through the import proxy, the fourth refused, and the
# three keep working
import_start "$U"
wait_for 10 have_proxy echo || { fail sep-limits/import "no proxy: $(tail -n 5 "$IMP_LOG")"; exit 1; }
P=$(proxy echo)
for i in 1 2 3; do
	mkfifo "$T/in.$i"
	( socat -t 10 UNIX-CONNECT:"$P" - <"$T/in.$i" >"$T/chan.$i" ) &
	exec {fdvar}>"$T/in.$i"
	W[$i]=$fdvar
done
sleep 0.5
run timeout 10 sh -c "echo fourth | socat -t 5 - UNIX-CONNECT:'$P'"
if [ "$(cat "$OUT")" != fourth ]; then pass sep-limits/fourth-channel-refused
else fail sep-limits/fourth-channel-refused "it went through"; fi
cat "$EXP_LOG" "$IMP_LOG" >"$T/both.log"
expect_grep sep-limits/channel-limit-logged 'too many channels' "$T/both.log"
# a second peer is not affected by the first one's limit
run timeout 10 sh -c "echo other | '$DIPUS' dcat '$U/echo'"
expect_eq sep-limits/other-peer-unaffected other "$(cat "$OUT")"
for i in 1 2 3; do fdvar=${W[$i]}; echo "line$i" >&"$fdvar"; exec {fdvar}>&-; done
sleep 1
got=$(cat "$T/chan.1" "$T/chan.2" "$T/chan.3" | tr '\n' ' ')
if [ "$got" = "line1 line2 line3 " ]; then pass sep-limits/held-channels-still-work
else fail sep-limits/held-channels-still-work "got '$got'"; fi
exit 0
