# ssh-errors: every SSH failure ends with its own clear message and a non-zero exit,
# never a hang: host unreachable, host key unknown or changed, authentication refused,
# dipus missing on the remote, remote too old; with the embedded dbclient and OpenSSH.
# timeout: 600
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-errors || exit 0
sshd_start || { fail ssh-errors/setup "sshd did not start"; exit 1; }
dropbear_start || { fail ssh-errors/setup "dropbear did not start"; exit 1; }
DEAD_PORT=$(free_port)

# a fake "old dipus": no serve applet
cat >"$T/bin/old-dipus" <<'EOF'
#!/bin/sh
echo "dipus: $1: no such applet (run 'dipus --list' to see the applets)" >&2
exit 2
EOF
# a fake dipus from the future: SEP preface, then a HELLO offering versions 3..4 only
cat >"$T/bin/future-dipus" <<'EOF'
#!/bin/sh
printf 'SEP/1\r\n\000\000\000\013\001\000\000\000\000\003\004\000\004\000\000\004\000\002vm'
sleep 5
EOF
# a remote whose shell startup prints a banner on stdout, before dipus
cat >"$T/bin/chatty-dipus" <<'EOF'
#!/bin/sh
echo "Welcome to the router!"
sleep 5
EOF
chmod 755 "$T/bin/old-dipus" "$T/bin/future-dipus" "$T/bin/chatty-dipus"

# a TCP server that accepts and never says anything (an SSH client waits forever)
MUTE_PORT=$(free_port)
spawn socat TCP-LISTEN:"$MUTE_PORT",bind=127.0.0.1,reuseaddr,fork SYSTEM:"sleep 60"
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MUTE_PORT"

# expect_err NAME CODE REGEX CMD...: exit CODE (or any non-zero for "nz"), message
# matches REGEX, within the test's bound
expect_err() {
	local name=$1 code=$2 re=$3; shift 3
	local t0=$(date +%s)
	run timeout 60 "$@"
	local dt=$(( $(date +%s) - t0 ))
	if [ "$RC" = 124 ]; then fail "$name" "hung (killed after 60 s)"; return; fi
	if [ "$code" = nz ] && [ "$RC" = 0 ]; then fail "$name" "exit 0"; return; fi
	if [ "$code" != nz ] && [ "$RC" != "$code" ]; then
		fail "$name" "exit $RC, wanted $code: $(head -c 400 "$ERR")"; return
	fi
	if ! grep -qE -- "$re" "$ERR"; then fail "$name" "no /$re/ in: $(head -c 400 "$ERR")"; return; fi
	if [ "$(wc -l <"$ERR")" -gt 3 ]; then fail "$name" "more than 3 lines of messages: $(head -c 600 "$ERR")"; return; fi
	pass "$name (${dt}s)"
}

for client in dbclient openssh; do
	for server in sshd dropbear; do
		if [ $server = sshd ]; then PORT=$SSHD_PORT; else PORT=$DROPBEAR_PORT; fi
		if [ $client = dbclient ]; then use_dbclient; else use_openssh; fi
		U=ssh://$SSH_USER@127.0.0.1:$PORT
		tag=$client-$server

		expect_err "ssh-errors/$tag/unreachable" 5 "ssh://$SSH_USER@127.0.0.1:$DEAD_PORT: host unreachable" \
			"$DIPUS" dls "ssh://$SSH_USER@127.0.0.1:$DEAD_PORT"

		# host key unknown: an empty known_hosts
		if [ $client = dbclient ]; then
			mv "$HOME/.ssh/known_hosts" "$T/kh.save"; : >"$HOME/.ssh/known_hosts"
			expect_err "ssh-errors/$tag/hostkey-unknown" 4 "$U: host key unknown" "$DIPUS" dls "$U"
			# changed: another key for 127.0.0.1
			echo "127.0.0.1 $(cut -d' ' -f1,2 "$T/keys/id.pub")" >"$HOME/.ssh/known_hosts"
			expect_err "ssh-errors/$tag/hostkey-changed" 4 "$U: host key changed" "$DIPUS" dls "$U"
			mv "$T/kh.save" "$HOME/.ssh/known_hosts"
			# known_hosts was not modified behind the user's back
			expect_eq "ssh-errors/$tag/known_hosts-untouched" 1 "$(wc -l <"$HOME/.ssh/known_hosts")"
			# authentication: a key the server does not know, and no default key
			mv "$HOME/.ssh/id_dropbear" "$T/id.save"
			expect_err "ssh-errors/$tag/auth-refused" 5 "$U: authentication refused" \
				env DIPUS_SSH_IDENTITY="$T/keys/stranger" "$DIPUS" dls "$U"
			mv "$T/id.save" "$HOME/.ssh/id_dropbear"
		else
			save=$DIPUS_SSH
			DIPUS_SSH="ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -i $T/keys/id"
			expect_err "ssh-errors/$tag/hostkey-unknown" 4 "$U: host key unknown" "$DIPUS" dls "$U"
			echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$T/keys/id.pub")" >"$T/kh-wrong"
			DIPUS_SSH="ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=$T/kh-wrong -o GlobalKnownHostsFile=/dev/null -i $T/keys/id"
			expect_err "ssh-errors/$tag/hostkey-changed" 4 "$U: host key changed" "$DIPUS" dls "$U"
			DIPUS_SSH="ssh -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=$T/known_hosts -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i $T/keys/nokey"
			dropbearconvert dropbear openssh "$T/keys/stranger" "$T/keys/nokey" >/dev/null 2>&1; chmod 600 "$T/keys/nokey"
			expect_err "ssh-errors/$tag/auth-refused" 5 "$U: authentication refused" "$DIPUS" dls "$U"
			DIPUS_SSH=$save
		fi

		expect_err "ssh-errors/$tag/dipus-missing" 5 "$U: 'dipus' missing on the remote: .*'dipus serve --stdio'.*exit 127" \
			env DIPUS_REMOTE="dipus serve --stdio" "$DIPUS" dls "$U"
		expect_err "ssh-errors/$tag/remote-too-old" 5 "$U: .*(too old)" \
			env DIPUS_REMOTE="$T/bin/old-dipus serve --stdio" "$DIPUS" dls "$U"
		expect_err "ssh-errors/$tag/remote-version-mismatch" 5 "$U: .*(too old|version)" \
			env DIPUS_REMOTE="$T/bin/future-dipus serve --stdio" "$DIPUS" dls "$U"
		expect_err "ssh-errors/$tag/not-sep" 5 "$U: .*does not speak SEP" \
			env DIPUS_REMOTE="$T/bin/chatty-dipus serve --stdio" "$DIPUS" dls "$U"
		expect_err "ssh-errors/$tag/dcat-unreachable" 5 "host unreachable" \
			"$DIPUS" dcat "ssh://$SSH_USER@127.0.0.1:$DEAD_PORT/x" </dev/null
	done
done

# an SSH port where nobody answers: bounded, never a hang
use_dbclient
expect_err "ssh-errors/mute-server" 5 "timed out" env DIPUS_SSH_TIMEOUT=3 "$DIPUS" dls "ssh://$SSH_USER@127.0.0.1:$MUTE_PORT"
# the local SSH command does not exist
expect_err "ssh-errors/no-local-ssh" 3 "cannot run no-such-ssh-command" \
	env DIPUS_SSH=no-such-ssh-command "$DIPUS" dls "ssh://$SSH_USER@127.0.0.1:$SSHD_PORT"
# no child left behind
sleep 0.2
expect_eq "ssh-errors/no-leftover-clients" 0 "$(ps -eo args= | grep -c "[d]bclient.*127.0.0.1 .*$T")"
