# mdns-cli: the discoverer's command line and exporter --advertise's refusal to advertise
# a loopback-only exporter (no network needed).
# timeout: 60
. "$TOP/testsuite/lib.sh"
"$DIPUS" discoverer --help >/dev/null 2>&1 || { skip mdns-cli "no discoverer in this build"; exit 0; }
expect_rc mdns-cli/t-zero 2 "$DIPUS" discoverer -t 0
expect_grep mdns-cli/t-zero-says '-t 0: expected seconds' "$ERR"
expect_rc mdns-cli/no-such-iface 2 "$DIPUS" discoverer -i no-such-if0
expect_grep mdns-cli/no-such-iface-says 'no-such-if0: no such interface' "$ERR"
expect_rc mdns-cli/extra-arg 2 "$DIPUS" discoverer foo
"$DIPUS" exporter --help 2>/dev/null | grep -q advertise || { skip mdns-cli/loopback "no exporter --advertise"; exit 0; }
setup_host lo
mkdir -p "$DIPUS_ROOT/exported"
spawn sh -c "exec '$DIPUS' exporter --plaintext --listen 127.0.0.1:$((20000 + $$ % 20000)) --advertise 2>'$T/exp.err'"
if wait_for 10 grep -q advertise "$T/exp.err"; then
	expect_grep mdns-cli/loopback-advertises-nothing 'exporter: --advertise: listening on loopback only: nothing to advertise' "$T/exp.err"
else fail mdns-cli/loopback-advertises-nothing "no message: $(cat "$T/exp.err")"; fi
exit 0
