# ssh-import: live "dipus import ssh://" against sshd and dropbear: proxies appear in
# users/<me>/ (0700) and follow the remote; another local user cannot use them; one
# SSH session carries many concurrent channels; a second dcat/dls to the same host
# shares the importer's session through its control socket, which replaces a dead one
# and is removed at exit; ssh-importer does several hosts at once.
# timeout: 600
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-import || exit 0
sshd_start || { fail ssh-import/setup "sshd did not start"; exit 1; }
dropbear_start || { fail ssh-import/setup "dropbear did not start"; exit 1; }

L=$REMOTE_ROOT/local
as_user "$SSH_USER" mkdir -p "$L/test"
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/echo.remote...0",fork,mode=666 EXEC:cat
wait_for 10 test -S "$L/test/echo.remote...0"
ME=$(id -un)
UDIR=$DIPUS_ROOT/users/$ME

# serve processes of the remote user = SSH sessions running "dipus serve"
# (the remote shell may stay as "sh -c ... dipus serve --stdio": count dipus itself)
serves() { ps -u "$SSH_USER" -o comm=,args= 2>/dev/null | grep -c '^dipus .*serve --stdio'; }
proxy() { find "$UDIR" -name "$1.*" -type s 2>/dev/null | head -n 1; }

for server in sshd dropbear; do
	if [ $server = sshd ]; then PORT=$SSHD_PORT; else PORT=$DROPBEAR_PORT; fi
	U=ssh://$SSH_USER@127.0.0.1:$PORT
	use_dbclient
	before=$(serves)
	CTL=$UDIR/.ctl/ssh-$SSH_USER@127.0.0.1:$PORT
	# a dead control socket (an importer killed before it could remove it): the next
	# importer replaces it, and the sharing checks below see that it did
	if [ $server = dropbear ] && [ -d "$UDIR/.ctl" ]; then
		python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$CTL"
	fi
	spawn "$DIPUS" import "$U"
	IMP=$SPAWNED
	if wait_for 20 sh -c "find '$UDIR' -name 'echo.*' -type s | grep -q ."; then
		pass "ssh-import/$server/proxy-appears"
	else
		fail "ssh-import/$server/proxy-appears" "no proxy for echo under $UDIR"; kill -- -"$IMP"; continue
	fi
	P=$(proxy echo)
	expect_eq "ssh-import/$server/users-dir-0700" "700 $ME" "$(stat -c '%a %U' "$UDIR")"
	run sh -c "echo through-proxy | socat -t 5 - UNIX-CONNECT:'$P'"
	expect_eq "ssh-import/$server/proxy-works" "through-proxy" "$(cat "$OUT")"
	run sh -c "echo via-dcat | '$DIPUS' dcat echo"
	expect_eq "ssh-import/$server/dcat-finds-proxy" "via-dcat" "$(cat "$OUT")"

	# another local user cannot use the proxies
	run as_user "$SSH_USER2" sh -c "echo x | socat -t 2 - UNIX-CONNECT:'$P'"
	if [ "$RC" != 0 ] && [ ! -s "$OUT" ]; then pass "ssh-import/$server/other-user-refused"
	else fail "ssh-import/$server/other-user-refused" "rc $RC out $(head -c 100 "$OUT")"; fi

	# live: a service appears and vanishes on the remote
	spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/late.remote...0",fork,mode=666 EXEC:cat
	LATE=$SPAWNED
	if wait_for 15 sh -c "find '$UDIR' -name 'late.*' -type s | grep -q ."; then pass "ssh-import/$server/live-appear"
	else fail "ssh-import/$server/live-appear" "no proxy for late"; fi
	kill -- -"$LATE" 2>/dev/null; sleep 0.2; rm -f "$L/test/late.remote...0"
	if wait_for 15 sh -c "! find '$UDIR' -name 'late.*' -type s | grep -q ."; then pass "ssh-import/$server/live-vanish"
	else fail "ssh-import/$server/live-vanish" "proxy for late still there"; fi

	# one session, many concurrent channels
	pids=""
	for i in $(seq 1 20); do
		( r=$( (echo "chan $i"; sleep 1) | socat -t 5 - UNIX-CONNECT:"$P"); [ "$r" = "chan $i" ] ) &
		pids="$pids $!"
	done
	sleep 0.5
	during=$(serves)
	bad=0
	for p in $pids; do wait "$p" || bad=$((bad + 1)); done
	expect_eq "ssh-import/$server/20-concurrent-channels" 0 "$bad"
	expect_eq "ssh-import/$server/one-ssh-session" 1 "$((during - before))"

	# a second client to the same host while the importer runs
	run env DIPUS_DEBUG=1 sh -c "echo shared | '$DIPUS' dcat '$U/echo'"
	expect_eq "ssh-import/$server/second-dcat" "shared" "$(cat "$OUT")"
	DCAT_ERR=$ERR
	run "$DIPUS" dls "$U"
	expect_grep "ssh-import/$server/second-dls" 'echo' "$OUT"
	# ... shares the importer's session through its control socket (doc/ssh.md)
	if [ -S "$CTL" ]; then
		expect_grep "ssh-import/$server/shared-no-new-handshake" 'sharing the session' "$DCAT_ERR"
		expect_eq "ssh-import/$server/still-one-ssh-session" 1 "$(( $(serves) - before ))"
		expect_eq "ssh-import/$server/control-socket-0600" "600" "$(stat -c '%a' "$CTL" 2>/dev/null)"
		run as_user "$SSH_USER2" socat -t 2 - UNIX-CONNECT:"$CTL"
		[ "$RC" != 0 ] && pass "ssh-import/$server/control-socket-private" || fail "ssh-import/$server/control-socket-private" "another user connected"
	else
		skip "ssh-import/$server/shared-session" "the importer does not serve its control socket yet (doc/ssh.md)"
	fi

	kill -TERM "$IMP" 2>/dev/null
	if wait_for 10 sh -c "! find '$UDIR' -name 'echo.*' -type s | grep -q ."; then pass "ssh-import/$server/proxies-removed-at-exit"
	else fail "ssh-import/$server/proxies-removed-at-exit" "proxy left behind"; fi
	if wait_for 10 test ! -e "$CTL"; then pass "ssh-import/$server/control-socket-removed-at-exit"
	else fail "ssh-import/$server/control-socket-removed-at-exit" "$CTL left behind"; fi
	kill -KILL -- -"$IMP" 2>/dev/null
	wait_for 10 sh -c "[ \$(ps -u $SSH_USER -o args= | grep -c '[s]erve --stdio') -le $before ]"
	expect_eq "ssh-import/$server/remote-serve-ended" "$before" "$(serves)"
done

# ssh-importer: both servers at once, with OpenSSH as the client
use_openssh
spawn "$DIPUS" ssh-importer "$SSH_USER@127.0.0.1:$SSHD_PORT" "$SSH_USER@127.0.0.1:$DROPBEAR_PORT"
SI=$SPAWNED
if wait_for 20 sh -c "[ \$(find '$UDIR' -name 'echo.*' -type s | wc -l) -ge 2 ]"; then pass "ssh-importer/two-hosts"
else fail "ssh-importer/two-hosts" "proxies: $(find "$UDIR" -type s | tr '\n' ' ')"; fi
for P in $(find "$UDIR" -name 'echo.*' -type s); do
	run sh -c "echo two | socat -t 5 - UNIX-CONNECT:'$P'"
	expect_eq "ssh-importer/proxy-$(basename "$P")" two "$(cat "$OUT")"
done
kill -TERM "$SI"
