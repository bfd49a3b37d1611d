# dipusd-ssh: an `import ssh://user@host:port` line in dipusd.conf, against real sshd
# and dropbear servers on loopback (ssh-lib.inc): the remote's services appear in the
# local dls and carry data; SIGHUP removing the line removes them.
# timeout: 180
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
"$DIPUS" --list | grep -qx dipusd || { skip dipusd-ssh "binary has no dipusd"; exit 0; }
ssh_setup dipusd-ssh || exit 0
sshd_start || { fail dipusd-ssh/setup "sshd did not start"; exit 1; }
dropbear_start || { fail dipusd-ssh/setup "dropbear did not start"; exit 1; }

L=$REMOTE_ROOT/local
as_user "$SSH_USER" mkdir -p "$L/test"
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/upper.remote...0",fork,mode=666 SYSTEM:"tr a-z A-Z"
wait_for 10 test -S "$L/test/upper.remote...0" || { fail dipusd-ssh/setup "remote service"; exit 1; }
CONFD=${DIPUS_CONF:-$HOME/.config/dipus}
mkdir -p "$CONFD" && chmod 700 "$CONFD"
in_dls() { "$DIPUS" dls -1 2>/dev/null | grep -qx upper.remote; }
not_in_dls() { ! in_dls; }

for server in sshd dropbear; do
	if [ $server = sshd ]; then PORT=$SSHD_PORT; else PORT=$DROPBEAR_PORT; fi
	printf 'export off\nadvertise off\ndiscover off\nimport ssh://%s@127.0.0.1:%s\n' "$SSH_USER" "$PORT" >"$CONFD/dipusd.conf"
	chmod 600 "$CONFD/dipusd.conf"
	rm -f "$T/ready.$server"; mkfifo "$T/ready.$server"
	spawn bash -c 'exec "$0" dipusd -v -d 3 3>"$1" 2>>"$2"' "$DIPUS" "$T/ready.$server" "$T/dipusd.$server.log"
	D=$SPAWNED
	[ -n "$(timeout 20 cat "$T/ready.$server" | od -An -c)" ] ||
		{ fail "dipusd-ssh/$server/start" "$(tail -5 "$T/dipusd.$server.log")"; continue; }
	wait_for 20 in_dls && pass "dipusd-ssh/$server/imported" ||
		fail "dipusd-ssh/$server/imported" "$("$DIPUS" dls 2>&1 | head -3); log: $(tail -5 "$T/dipusd.$server.log")"
	run sh -c "echo hello | '$DIPUS' dcat upper.remote"
	expect_eq "dipusd-ssh/$server/dcat" HELLO "$(cat "$OUT")"
	# the line removed, SIGHUP: the import stops and its proxies go
	printf 'export off\nadvertise off\ndiscover off\n' >"$CONFD/dipusd.conf"
	kill -HUP "$D"
	wait_for 15 not_in_dls && pass "dipusd-ssh/$server/hup-removed" ||
		fail "dipusd-ssh/$server/hup-removed" "$(tail -5 "$T/dipusd.$server.log")"
	kill -TERM "$D"
	wait "$D" 2>/dev/null
	expect_eq "dipusd-ssh/$server/stop" 0 "$?"
done
exit 0
