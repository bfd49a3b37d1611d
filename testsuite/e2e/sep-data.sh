# sep-data: bulk data through SEP: 1 GiB through an imported proxy and through
# "dcat sep://" (SHA-256 equal both ways), half-close through the proxy (wc -c).
# timeout: 400
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-data
need_cmd sep-data socat || exit 0
SIZE=${SEP_DATA_BYTES:-1073741824}

service in_exp cat test 'cat' || { fail sep-data/setup "cat service did not appear"; exit 1; }
service in_exp wc test 'wc -c' || { fail sep-data/setup "wc service did not appear"; exit 1; }
exporter_start || { fail sep-data/setup "exporter did not start: $(tail -n 5 "$EXP_LOG" "$T/trust.out" 2>/dev/null)"; exit 1; }
import_start "sep://127.0.0.1:$PORT"
if wait_for 10 have_proxy cat && wait_for 10 have_proxy wc; then pass sep-data/proxies
else fail sep-data/proxies "no proxies: $(find "$CLI_ROOT" | head); $(tail -n 5 "$IMP_LOG")"; exit 1; fi
P=$(proxy cat)
expect_eq sep-data/proxy-name "$CLI_ROOT/imported/test/cat.exp...0" "$P"

# half-close: the client's EOF reaches wc, wc's answer still comes back
run sh -c "printf 'hello world' | socat -t 10 - UNIX-CONNECT:'$(proxy wc)'"
expect_eq sep-data/half-close-proxy 11 "$(tr -d ' \n' <"$OUT")"
run sh -c "printf 'abc' | '$DIPUS' dcat 'sep://127.0.0.1:$PORT/wc'"
expect_eq sep-data/half-close-dcat-sep 3 "$(tr -d ' \n' <"$OUT")"
run sh -c "printf 'abcd' | '$DIPUS' dcat wc.exp"
expect_eq sep-data/half-close-dcat-proxy 4 "$(tr -d ' \n' <"$OUT")"

# 1 GiB through the proxy
WANT=$(gen "$SIZE" | sha256sum | cut -d' ' -f1)
t0=$(date +%s%N)
GOT=$(gen "$SIZE" | socat -t 30 - UNIX-CONNECT:"$P" | sha256sum | cut -d' ' -f1)
t1=$(date +%s%N)
expect_eq sep-data/1GiB-proxy "$WANT" "$GOT"
echo "# proxy: $((SIZE / 1048576)) MiB in $(( (t1 - t0) / 1000000 )) ms" >&2

# 1 GiB through dcat sep://
GOT=$(gen "$SIZE" | "$DIPUS" dcat "sep://127.0.0.1:$PORT/cat" | sha256sum | cut -d' ' -f1)
t2=$(date +%s%N)
expect_eq sep-data/1GiB-dcat-sep "$WANT" "$GOT"
echo "# dcat sep://: $((SIZE / 1048576)) MiB in $(( (t2 - t1) / 1000000 )) ms" >&2

# dcat sep:// leaves no process behind (the session child exits with the channel)
sleep 0.5
left=$(pgrep -f "dcat sep://127.0.0.1:$PORT" | wc -l)
expect_eq sep-data/no-leftover-dcat-children 0 "$left"

# dls sep:// lists the exported services
run "$DIPUS" dls "sep://127.0.0.1:$PORT"
expect_grep sep-data/dls-sep 'cat' "$OUT"
run "$DIPUS" dls "sep://127.0.0.1:$PORT/wc"
if grep -q wc "$OUT" && ! grep -q 'cat' "$OUT"; then pass sep-data/dls-sep-query
else fail sep-data/dls-sep-query "$(head -c 300 "$OUT") $(head -c 300 "$ERR")"; fi
expect_rc sep-data/dls-sep-nomatch 1 "$DIPUS" dls "sep://127.0.0.1:$PORT/nosuch"
expect_rc sep-data/dcat-sep-nomatch 1 sh -c "echo | '$DIPUS' dcat 'sep://127.0.0.1:$PORT/nosuch'"
exit 0
