# ssh-basic: dls and dcat over ssh:// against OpenSSH's sshd and dropbear's server,
# with the embedded dbclient and with OpenSSH's ssh ($DIPUS_SSH): listing, 1 GiB
# through an echo service (SHA-256 equal), half-close, what the remote user may see.
# timeout: 900
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-basic || exit 0
sshd_start || { fail ssh-basic/setup "sshd did not start"; exit 1; }
dropbear_start || { fail ssh-basic/setup "dropbear did not start"; exit 1; }

# remote services, published by hand in the remote's shared root:
#  echo (cat) and wc (reads to EOF, then answers: needs half-close) of the ssh user,
#  secret: a 0700 service of another user (root), which the ssh user cannot reach
L=$REMOTE_ROOT/local
as_user "$SSH_USER" mkdir -p "$L/test"
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/echo.remote...0",fork,mode=666 EXEC:cat
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/wc.remote...0",fork,mode=666 SYSTEM:"wc -c"
mkdir -p "$L/private" && chmod 700 "$L/private"
spawn socat UNIX-LISTEN:"$L/secret.remote...0",fork,mode=700 SYSTEM:"echo top secret"
spawn socat UNIX-LISTEN:"$L/private/hidden.remote...0",fork,mode=777 SYSTEM:"echo hidden"
for s in test/echo test/wc secret; do wait_for 10 test -S "$L/$s.remote...0"; done

# 1 GiB of incompressible data
BIG=$T/big
head -c 1073741824 /dev/urandom >"$BIG" 2>/dev/null || openssl enc -aes-128-ctr -pass pass:x -nosalt </dev/zero 2>/dev/null | head -c 1073741824 >"$BIG"
BIG_SHA=$(sha "$BIG")
head -c 67108864 "$BIG" >"$T/mid"
MID_SHA=$(sha "$T/mid")

for client in dbclient openssh; do
	for server in sshd dropbear; do
		if [ $server = sshd ]; then PORT=$SSHD_PORT; else PORT=$DROPBEAR_PORT; fi
		if [ $client = dbclient ]; then use_dbclient; else use_openssh; fi
		U=ssh://$SSH_USER@127.0.0.1:$PORT
		tag=$client-$server

		expect_rc "ssh-basic/$tag/dls" 0 "$DIPUS" dls "$U" &&
			expect_grep "ssh-basic/$tag/dls-lists-echo" 'echo' "$OUT" &&
			expect_grep "ssh-basic/$tag/dls-lists-wc" 'wc' "$OUT"
		expect_rc "ssh-basic/$tag/dls-query" 0 "$DIPUS" dls "$U/test" &&
			expect_grep "ssh-basic/$tag/dls-query-proto" 'test' "$OUT"
		run "$DIPUS" dls "$U/nosuchservice"
		expect_eq "ssh-basic/$tag/dls-nomatch" 1 "$RC"

		run sh -c "echo hello | '$DIPUS' dcat '$U/echo'"
		expect_eq "ssh-basic/$tag/dcat-echo" "hello" "$(cat "$OUT")"
		# half-close: wc answers only after our EOF
		run sh -c "printf 'twelve bytes' | '$DIPUS' dcat '$U/wc'"
		expect_eq "ssh-basic/$tag/dcat-half-close" "12" "$(tr -d ' \n' <"$OUT")"
		# the remote user cannot reach another user's 0700 service, nor one below a
		# 0700 directory of another user
		run sh -c "'$DIPUS' dcat '$U/secret' </dev/null"
		if [ "$RC" != 0 ] && ! grep -q 'top secret' "$OUT"; then pass "ssh-basic/$tag/no-other-users-service"
		else fail "ssh-basic/$tag/no-other-users-service" "rc $RC, out: $(head -c 100 "$OUT")"; fi
		run sh -c "'$DIPUS' dcat '$U/hidden' </dev/null"
		if [ "$RC" != 0 ] && ! grep -q 'hidden' "$OUT"; then pass "ssh-basic/$tag/no-service-below-private-dir"
		else fail "ssh-basic/$tag/no-service-below-private-dir" "rc $RC, out: $(head -c 100 "$OUT")"; fi

		# bulk: 1 GiB through the embedded dbclient, 64 MiB through OpenSSH
		if [ $client = dbclient ]; then f=$BIG want=$BIG_SHA; else f=$T/mid want=$MID_SHA; fi
		t0=$(date +%s%N)
		"$DIPUS" dcat "$U/echo" <"$f" >"$T/got" 2>"$T/bulk.err"
		rc=$?
		t1=$(date +%s%N)
		got=$(sha "$T/got")
		if [ $rc = 0 ] && [ "$got" = "$want" ]; then
			pass "ssh-basic/$tag/dcat-bulk-sha256"
			echo "# $tag: $(( $(stat -c %s "$f") / 1048576 )) MiB in $(( (t1 - t0) / 1000000 )) ms" >&2
		else
			fail "ssh-basic/$tag/dcat-bulk-sha256" "rc $rc, $(stat -c %s "$T/got") bytes back: $(head -c 300 "$T/bulk.err")"
		fi
		rm -f "$T/got"
	done
done

# dbclient was the client in the default runs: it ran as an applet of the binary
use_dbclient
run env DIPUS_DEBUG=1 "$DIPUS" dls "ssh://$SSH_USER@127.0.0.1:$SSHD_PORT"
expect_grep "ssh-basic/embedded-dbclient-used" 'dbclient -T -o BatchMode=yes' "$ERR"
