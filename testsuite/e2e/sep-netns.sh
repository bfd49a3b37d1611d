# sep-netns: exporter and importer on two network namespaces joined by a veth pair
# (10.233.7.1 <-> 10.233.7.2), each "host" with its own address: import, dcat through
# the proxy, dls/dcat sep:// across. Root only; everything is torn down on exit.
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
need_root sep-netns || exit 0
need_cmd sep-netns ip || exit 0
need_cmd sep-netns socat || exit 0
sep_setup sep-netns
NA=dipus_t_a$$ NB=dipus_t_b$$
netns_down() {
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
}
on_exit netns_down
if ! ip netns add "$NA" || ! ip netns add "$NB"; then
	fail sep-netns "cannot create network namespaces here (ip netns add)"; exit 1
fi
if ! ip -n "$NA" link add veth_a type veth peer name veth_b netns "$NB"; then
	fail sep-netns "cannot create a veth pair here"; exit 1
fi
ip -n "$NA" addr add 10.233.7.1/24 dev veth_a
ip -n "$NB" addr add 10.233.7.2/24 dev veth_b
ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
ip -n "$NA" link set veth_a up; ip -n "$NB" link set veth_b up
link_ok() {
	ip netns exec "$NA" timeout 3 socat -T 2 TCP-LISTEN:7151,bind=10.233.7.1,reuseaddr SYSTEM:'echo pong' &
	local l=$!
	sleep 0.2
	local r
	r=$(ip netns exec "$NB" timeout 2 socat -T 2 - TCP:10.233.7.1:7151 </dev/null 2>/dev/null)
	kill "$l" 2>/dev/null; wait "$l" 2>/dev/null
	[ "$r" = pong ]
}
if wait_for 5 link_ok; then pass sep-netns/link
else fail sep-netns/link "no TCP across the veth pair"; exit 1; fi

service in_exp echo test 'cat' || { fail sep-netns/setup "echo service did not appear"; exit 1; }
PORT=7150
spawn "${EXP_ENV[@]}" ip netns exec "$NA" "$DIPUS" exporter --listen 10.233.7.1:$PORT -v
EXP_PID=$SPAWNED
wait_for 10 sh -c "ip netns exec $NA ss -Hltn 'sport = :$PORT' | grep -q ." || { fail sep-netns/exporter "did not listen"; exit 1; }
U=sep://10.233.7.1:$PORT
run ip netns exec "$NB" "$DIPUS" trust --yes "$U"
[ "$RC" = 0 ] && pass sep-netns/trust || fail sep-netns/trust "$(head -c 300 "$ERR")"
run ip netns exec "$NB" "$DIPUS" dls "$U"
expect_grep sep-netns/dls-across echo "$OUT"
run ip netns exec "$NB" sh -c "echo across | '$DIPUS' dcat '$U/echo'"
expect_eq sep-netns/dcat-across across "$(cat "$OUT")"
spawn ip netns exec "$NB" "$DIPUS" import "$U"
if wait_for 10 have_proxy echo; then pass sep-netns/import
else fail sep-netns/import "no proxy"; exit 1; fi
run sh -c "echo via-proxy | '$DIPUS' dcat echo.exp"
expect_eq sep-netns/proxy-across via-proxy "$(cat "$OUT")"
# the importer's connection really goes over the veth pair
ip netns exec "$NB" ss -Htn state established >"$T/ss.out"
expect_grep sep-netns/over-veth '10\.233\.7\.2.*10\.233\.7\.1:7150' "$T/ss.out"
exit 0
