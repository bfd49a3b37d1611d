# issue-11-item: 2
# adv-peers.sh: unauthenticated peers must not hold every --max-peers slot. From
# another loopback address (127.0.0.2), 12 TCP connections that never speak, each
# reopened as soon as the exporter closes it, against --max-peers 8; meanwhile three
# `dls sep://` from 127.0.0.1 with an authorized key must all succeed, and the log must
# not get a line per refused connection, nor a refusal blame the key. Then the same with the default limit and 100
# idle connections from one address.
# timeout: 240
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup adv-peers
need_cmd adv-peers python3 || exit 0
need_cmd adv-peers socat || exit 0
LIB=$TOP/testsuite/lib/sep_peer.py

service in_exp echo test 'cat' || { fail adv-peers/setup "echo service did not appear"; exit 1; }

# flood_case LABEL N EXPORTER-ARGS...
flood_case() {
	local label=$1 n=$2 ok=0 blame=0 i st
	shift 2
	: >"$T/exporter.log"
	exporter_start --handshake-timeout 2 "$@" || { fail "adv-peers/$label/setup" "exporter did not start"; return; }
	st=$T/flood.$label
	spawn python3 "$LIB" flood 127.0.0.1 "$PORT" "$n" 120 "$st" 127.0.0.2
	FLOOD=$SPAWNED
	# the flood is in place: all n connected, and the exporter has closed some of them
	# (so it has seen them: handshake timeout or refusal)
	if ! wait_for 30 sh -c "read o a c <'$st' && [ \$o -ge $n ] && [ \$c -ge 1 ]"; then
		fail "adv-peers/$label/setup" "flood not in place: $(cat "$st" 2>/dev/null)"
	fi
	for i in 1 2 3; do
		run timeout 30 env "${CLI_ENV[@]}" "$DIPUS" dls -1 "sep://127.0.0.1:$PORT"
		if [ "$RC" = 0 ] && grep -qx 'echo.exp' "$OUT"; then ok=$((ok + 1))
		else
			echo "dls $i: rc $RC: $(head -c 300 "$ERR")" >&2
			grep -q authorized_keys "$ERR" && blame=$((blame + 1))
		fi
	done
	expect_eq "adv-peers/$label/authorized-dls-succeeds-3-of-3" 3 "$ok"
	expect_eq "adv-peers/$label/a-busy-exporter-is-not-blamed-on-the-key" 0 "$blame"
	: >"$st.stop"
	wait "$FLOOD" 2>/dev/null
	read -r _ _ closed <"$st"
	# one log line per refused connection is what a flood turns into a disk filler
	lines=$(grep -c -e 'too many peers' -e 'busy' "$EXP_LOG")
	if [ "$closed" -ge 40 ]; then
		[ "$lines" -le $((closed / 4)) ] && pass "adv-peers/$label/log-is-rate-limited" ||
			fail "adv-peers/$label/log-is-rate-limited" "$lines log lines for $closed refused connections"
	else
		# not enough churn to judge a rate: the lines must still be few
		[ "$lines" -le 10 ] && pass "adv-peers/$label/log-is-rate-limited" ||
			fail "adv-peers/$label/log-is-rate-limited" "$lines log lines for $closed refused connections"
	fi
	exporter_stop
	rm -f "$st.stop"
}

flood_case max-peers-8 12 --max-peers 8
PORT=
flood_case default-limit 100
