# keys.sh: keygen (files, modes, fingerprint format, no silent overwrite, loose
# permissions refused) and trust against a real TLS 1.3 server (openssl s_server):
# the pinned fingerprint is the one OpenSSL computes; a changed key is refused.
# timeout: 60
. "$TOP/testsuite/lib.sh"
need_applet keys keygen trust || exit 0
setup_host k
expect_rc "keygen" 0 "$DIPUS" keygen
FP=$(cat "$OUT")
expect_grep "keygen prints SHA256:<base64> (43 chars, no padding)" '^SHA256:[A-Za-z0-9+/]{43}$' "$OUT"
expect_eq "key.pem is 0600, cert.pem 0644, the dir 0700" "600 644 700" \
	"$(stat -c %a "$DIPUS_CONF/key.pem") $(stat -c %a "$DIPUS_CONF/cert.pem") $(stat -c %a "$DIPUS_CONF")"
# the fingerprint is SHA-256 of the public key's DER, as OpenSSL computes it
want=$(openssl x509 -in "$DIPUS_CONF/cert.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
	openssl dgst -sha256 -binary | base64 | tr -d =)
expect_eq "the fingerprint is the SHA-256 of the public key (as openssl computes it)" "SHA256:$want" "$FP"
expect_rc "keygen -y" 0 "$DIPUS" keygen -y
expect_eq "keygen -y prints the same fingerprint" "$FP" "$(cat "$OUT")"
expect_rc "keygen refuses to overwrite" 2 "$DIPUS" keygen
expect_grep "...and says how" "a key exists already; -f replaces it" "$ERR"
expect_eq "...and the key is unchanged" "$FP" "$("$DIPUS" keygen -y)"
expect_rc "keygen -f replaces it" 0 "$DIPUS" keygen -f
[ "$(cat "$OUT")" != "$FP" ] && pass "...with a new key" || fail "...with a new key" "same fingerprint"
chmod 644 "$DIPUS_CONF/key.pem"
expect_rc "a key readable by others is refused" 4 "$DIPUS" keygen -y
expect_grep "...as OpenSSH does, with the fix" "key.pem: permissions 0644 are too open.*chmod 600" "$ERR"
chmod 600 "$DIPUS_CONF/key.pem"

# trust against a real TLS 1.3 server on loopback
need_cmd "trust" openssl || exit 0
openssl ecparam -name prime256v1 -genkey -noout -out "$T/s.key" 2>/dev/null
openssl req -new -x509 -key "$T/s.key" -out "$T/s.crt" -days 30 -subj /CN=srv 2>/dev/null
SFP=SHA256:$(openssl x509 -in "$T/s.crt" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64 | tr -d =)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
spawn openssl s_server -tls1_3 -accept "127.0.0.1:$PORT" -cert "$T/s.crt" -key "$T/s.key" -quiet
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
expect_rc "trust --yes pins an exporter" 0 "$DIPUS" trust --yes "sep://127.0.0.1:$PORT"
expect_eq "known_hosts holds host:port and the server's fingerprint" "127.0.0.1:$PORT $SFP" "$(cat "$DIPUS_CONF/known_hosts")"
expect_rc "trust again: already pinned" 0 "$DIPUS" trust --yes "sep://127.0.0.1:$PORT"
expect_grep "...says so" "already pinned" "$OUT"
echo "127.0.0.1:$PORT SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" >"$DIPUS_CONF/known_hosts"
expect_rc "a changed key is refused" 4 "$DIPUS" trust --yes "sep://127.0.0.1:$PORT"
grep -qF "key has CHANGED: pinned SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, now $SFP" "$ERR" &&
	pass "...naming both fingerprints" || fail "...naming both fingerprints" "$(cat "$ERR")"
rm "$DIPUS_CONF/known_hosts"
expect_rc "trust without a terminal or --yes does not pin" 1 setsid "$DIPUS" trust "sep://127.0.0.1:$PORT" </dev/null
[ ! -s "$DIPUS_CONF/known_hosts" ] && pass "...and known_hosts stays empty" || fail "...and known_hosts stays empty" "$(cat "$DIPUS_CONF/known_hosts")"
expect_rc "trust needs a sep:// URI" 2 "$DIPUS" trust http://x
