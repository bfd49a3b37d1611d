# sep-suites: the TLS 1.3 cipher suite choice (core/tls-suites.c, doc/tls.md) end to
# end: dcat sep:// with $DIPUS_TLS_SUITES forced on each side, 4 MiB through a cat
# service (SHA-256 equal), and the suite the exporter logs (-v) is the one expected:
# ChaCha20-Poly1305 when either side asks for it, AES-128-GCM when both ask for AES;
# with DIPUS_CRYPTO=portable on both (the GCM and ChaCha20 of CPUs without AES-NI).
# timeout: 120
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-suites
need_cmd sep-suites socat || exit 0
SIZE=4194304
CHACHA=TLS1-3-CHACHA20-POLY1305-SHA256
AES=TLS1-3-AES-128-GCM-SHA256

service in_exp cat test 'cat' || { fail sep-suites/setup "cat service did not appear"; exit 1; }
WANT=$(gen "$SIZE" | sha256sum | cut -d' ' -f1)

# one_case NAME EXPORTER_SUITES CLIENT_SUITES EXPECTED [ENV...]: a fresh exporter with
# the first setting, a transfer with the second, the log's suite compared
one_case() {
	local name=$1 es=$2 cs=$3 want=$4; shift 4
	EXP_ENV=(env DIPUS_HOST=exp DIPUS_ROOT="$EXP_ROOT" DIPUS_CONF="$EXP_CONF" DIPUS_TLS_SUITES="$es" "$@")
	: >"$T/exporter.log"
	exporter_start || { fail "sep-suites/$name" "exporter did not start: $(tail -n 5 "$EXP_LOG" "$T/trust.out" 2>/dev/null)"; return; }
	GOT=$(gen "$SIZE" | env DIPUS_TLS_SUITES="$cs" "$@" "$DIPUS" dcat "sep://127.0.0.1:$PORT/cat" 2>"$T/dcat.err" |
		sha256sum | cut -d' ' -f1)
	expect_eq "sep-suites/$name-sha256" "$WANT" "$GOT"
	wait_for 5 grep -q 'authenticated, key' "$EXP_LOG"
	local suite
	suite=$(sed -n 's/.*authenticated, key SHA256:[^ ,]*, \(TLS1-3-[A-Z0-9-]*\).*/\1/p' "$EXP_LOG" | tail -n 1)
	expect_eq "sep-suites/$name-suite" "$want" "$suite"
	exporter_stop
}

one_case both-chacha chacha chacha "$CHACHA"
one_case both-aes aes aes "$AES"
one_case exporter-chacha-client-aes chacha aes "$CHACHA"
one_case exporter-aes-client-chacha aes chacha "$CHACHA"
one_case both-chacha-portable chacha chacha "$CHACHA" DIPUS_CRYPTO=portable
one_case both-aes-portable aes aes "$AES" DIPUS_CRYPTO=portable
exit 0
