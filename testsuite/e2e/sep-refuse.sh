# sep-refuse: what the exporter and the client refuse: no client certificate, an unknown
# client key, a changed server key, TLS 1.2, plaintext against TLS and TLS against
# plaintext (a clear error, no hang), traversal (../local/x, %2e%2e, absolute paths), a
# symlink in exported/ to a socket in local/, a 0700 root-owned socket (root only).
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-refuse
need_cmd sep-refuse socat || exit 0
need_cmd sep-refuse openssl || exit 0

service in_exp echo test 'cat' || { fail sep-refuse/setup "echo service did not appear"; exit 1; }
# a local-only service with a secret, next to exported/
mkdir -p "$EXP_ROOT/local/x"
chmod 755 "$EXP_ROOT/local/x"
spawn socat UNIX-LISTEN:"$EXP_ROOT/local/x/secret.exp...0",fork,mode=666 SYSTEM:'echo SECRET'
wait_for 5 test -S "$EXP_ROOT/local/x/secret.exp...0"
exporter_start || { fail sep-refuse/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
U=sep://127.0.0.1:$PORT

run sh -c "echo ok | '$DIPUS' dcat '$U/echo'"
expect_eq sep-refuse/baseline ok "$(cat "$OUT")"

# no secret anywhere in an output
no_secret() { ! grep -q SECRET "$OUT"; }

# --- traversal and escapes
for q in '../local/x' '../local/x/secret' '..' 'test/../../local/x' '%2e%2e/local/x' '%2E%2E/local/x/secret' \
         "/$EXP_ROOT/local/x/secret.exp...0" "$EXP_ROOT/local/x/secret.exp...0" '/etc/passwd'; do
	run timeout 10 "$DIPUS" dls "$U/$q"
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && ! grep -q secret "$OUT"; then pass "sep-refuse/dls '$q'"
	else fail "sep-refuse/dls '$q'" "rc $RC: $(head -c 200 "$OUT")"; fi
	run timeout 10 sh -c "echo x | '$DIPUS' dcat '$U/$q'"
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && no_secret; then pass "sep-refuse/dcat '$q'"
	else fail "sep-refuse/dcat '$q'" "rc $RC: $(head -c 200 "$OUT")"; fi
done

# a symlink in exported/ to a socket in local/, and a symlinked directory
ln -s "$EXP_ROOT/local/x/secret.exp...0" "$EXP_ROOT/exported/test/sneaky.exp...0"
ln -s ../local "$EXP_ROOT/exported/evil"
run timeout 10 "$DIPUS" dls "$U"
if ! grep -qE 'sneaky|secret' "$OUT"; then pass sep-refuse/symlink-not-listed
else fail sep-refuse/symlink-not-listed "$(cat "$OUT")"; fi
for q in sneaky sneaky.exp test/sneaky evil evil/x evil/x/secret; do
	run timeout 10 sh -c "echo x | '$DIPUS' dcat '$U/$q'"
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && no_secret; then pass "sep-refuse/symlink-dcat '$q'"
	else fail "sep-refuse/symlink-dcat '$q'" "rc $RC: $(head -c 200 "$OUT")"; fi
done
# a regular file and a FIFO are not services
: >"$EXP_ROOT/exported/test/file.exp...0"
mkfifo "$EXP_ROOT/exported/test/fifo.exp...0"
for q in file fifo; do
	run timeout 10 sh -c "echo x | '$DIPUS' dcat '$U/$q'"
	[ "$RC" != 0 ] && [ "$RC" != 124 ] && pass "sep-refuse/non-socket-$q" || fail "sep-refuse/non-socket-$q" "rc $RC"
done
rm -f "$EXP_ROOT/exported/test/sneaky.exp...0" "$EXP_ROOT/exported/evil" \
	"$EXP_ROOT/exported/test/file.exp...0" "$EXP_ROOT/exported/test/fifo.exp...0"

# --- a root-owned 0700 socket is unreachable through an exporter running as nobody
if [ "$(id -u)" = 0 ]; then
	spawn socat UNIX-LISTEN:"$EXP_ROOT/exported/test/rootonly.exp...0",fork,mode=700 SYSTEM:'echo SECRET'
	wait_for 5 test -S "$EXP_ROOT/exported/test/rootonly.exp...0"
	run timeout 10 sh -c "echo x | '$DIPUS' dcat '$U/rootonly'"
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && no_secret; then pass sep-refuse/root-0700-socket
	else fail sep-refuse/root-0700-socket "rc $RC: $(head -c 200 "$OUT")"; fi
	# the exporter really runs as nobody
	EUID_EXP=$(awk '/^Uid:/ {print $3}' "/proc/$EXP_PID/status")
	expect_eq sep-refuse/exporter-dropped-to-nobody "$(id -u nobody)" "$EUID_EXP"
else
	skip sep-refuse/root-0700-socket "needs root"
fi

# --- TLS-level refusals, with openssl s_client as the real peer
KEY=$CLI_CONF/key.pem CERT=$CLI_CONF/cert.pem
# no client certificate
run timeout 10 sh -c "sleep 2 | openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -quiet"
[ "$RC" != 124 ] && pass sep-refuse/no-client-cert-no-hang || fail sep-refuse/no-client-cert-no-hang "s_client hung"
wait_for 3 grep -qiE 'certificate' "$EXP_LOG"
expect_grep sep-refuse/no-client-cert-logged '127\.0\.0\.1.*(no|without|missing).*certificate|certificate.*(required|missing)' "$EXP_LOG"
# TLS 1.2, with an authorized key
run timeout 10 sh -c "sleep 2 | openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cert '$CERT' -key '$KEY' -brief"
if ! grep -q 'Protocol version: TLSv1.2' "$ERR" "$OUT" && [ "$RC" != 124 ]; then pass sep-refuse/tls12-refused
else fail sep-refuse/tls12-refused "rc $RC: $(head -c 300 "$ERR")"; fi
# TLS 1.3 with the authorized key works at the TLS level (the control for the above)
run timeout 10 sh -c "sleep 1 | openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -cert '$CERT' -key '$KEY' -brief"
expect_grep sep-refuse/tls13-authorized-handshakes 'TLSv1.3' "$ERR"

# unknown client key: a third host with its own key
setup_host stranger
mkdir -p "$DIPUS_CONF"; chmod 700 "$DIPUS_CONF"
"$DIPUS" keygen >/dev/null 2>&1
STR_FP=$("$DIPUS" keygen -y | grep -o 'SHA256:[A-Za-z0-9+/=]*' | head -n 1)
cp "$CLI_CONF/known_hosts" "$DIPUS_CONF/known_hosts"
run timeout 10 "$DIPUS" dls "$U"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && ! grep -q echo "$OUT"; then pass sep-refuse/unknown-client-key
else fail sep-refuse/unknown-client-key "rc $RC: $(head -c 200 "$OUT")"; fi
wait_for 3 grep -qF "$STR_FP" "$EXP_LOG"
expect_grep sep-refuse/unknown-key-logged-with-fingerprint "127\.0\.0\.1.*$(printf '%s' "$STR_FP" | sed 's/[+/.]/\\&/g')" "$EXP_LOG"
export DIPUS_HOST=cli DIPUS_ROOT=$CLI_ROOT DIPUS_CONF=$CLI_CONF

# --- plaintext against TLS, TLS against plaintext: clear errors, no hang
run timeout 15 "$DIPUS" dls "sep+plain://127.0.0.1:$PORT"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ -s "$ERR" ]; then pass sep-refuse/plain-against-tls
else fail sep-refuse/plain-against-tls "rc $RC: $(head -c 200 "$ERR")"; fi
PPORT=$(free_port)
spawn "${EXP_ENV[@]}" bash -c 'exec "$0" exporter --plaintext --listen "127.0.0.1:$1" 2>>"$2"' "$DIPUS" "$PPORT" "$T/plain.log"
wait_for 10 port_listening "$PPORT"
run timeout 15 "$DIPUS" dls "sep+plain://127.0.0.1:$PPORT"
expect_grep sep-refuse/plaintext-both-ends-works echo "$OUT"
run timeout 15 "$DIPUS" dls "sep://127.0.0.1:$PPORT"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -qi 'plain' "$ERR"; then pass sep-refuse/tls-against-plain
else fail sep-refuse/tls-against-plain "rc $RC: $(head -c 300 "$ERR")"; fi

# --- changed server key: a hard error naming both fingerprints
exporter_stop
in_exp "$DIPUS" keygen -f >/dev/null 2>&1
NEW_FP=$(in_exp "$DIPUS" keygen -y | grep -o 'SHA256:[A-Za-z0-9+/=]*' | head -n 1)
exporter_start || fail sep-refuse/restart "exporter did not restart"
run timeout 10 "$DIPUS" dls "$U"
if [ "$RC" = 4 ] && grep -qF "$EXP_FP" "$ERR" && grep -qF "$NEW_FP" "$ERR"; then pass sep-refuse/changed-server-key
else fail sep-refuse/changed-server-key "rc $RC: $(head -c 300 "$ERR")"; fi
run timeout 10 sh -c "echo x | '$DIPUS' dcat '$U/echo'"
[ "$RC" = 4 ] && pass sep-refuse/changed-server-key-dcat || fail sep-refuse/changed-server-key-dcat "rc $RC: $(head -c 300 "$ERR")"
exit 0
