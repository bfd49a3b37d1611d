# ssh-cut: `dcat ssh://` whose SSH session is lost mid-transfer (the server side's
# processes killed during a 50 MB transfer to a slow reader) exits 5 with the reason,
# over SEP (OpenSSH's client) and through a direct channel (the embedded dbclient:
# its mux says CUT, not CLOSED, when the session ends before the channel); a transfer
# that ends normally still exits 0 with every byte, both ways.
# timeout: 240
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-cut || exit 0
sshd_start || { fail ssh-cut/setup "sshd did not start"; exit 1; }
L=$REMOTE_ROOT/local
as_user "$SSH_USER" mkdir -p "$L/test"
head -c 50000000 /dev/urandom >"$T/big"
chmod 644 "$T/big"
spawn_as "$SSH_USER" socat -t "$SOCAT_SVC_T" UNIX-LISTEN:"$L/test/zbig.remote...0",fork,mode=666 SYSTEM:"cat '$T/big'"
wait_for 10 test -S "$L/test/zbig.remote...0" || { fail ssh-cut/setup "no service"; exit 1; }
U=ssh://$SSH_USER@127.0.0.1:$SSHD_PORT

for client in dbclient openssh; do
	if [ $client = dbclient ]; then use_dbclient; else use_openssh; fi
	run timeout 60 "$DIPUS" dcat "$U/zbig" </dev/null
	if [ "$RC" = 0 ] && [ "$(sha "$OUT")" = "$(sha "$T/big")" ]; then pass "ssh-cut/$client/whole-transfer-exits-0"
	else fail "ssh-cut/$client/whole-transfer-exits-0" "rc $RC, $(wc -c <"$OUT") bytes: $(head -c 300 "$ERR")"; fi

	# the reader takes nothing for 6 s; the SSH user's processes die once the service
	# is sending
	( timeout 60 "$DIPUS" dcat "$U/zbig" </dev/null 2>"$T/cut.err"; echo $? >"$T/cut.rc" ) |
		{ sleep 6; cat >"$T/cut.out"; } &
	PIPE=$!
	wait_for 20 pgrep -f "cat '$T/big'" >/dev/null || echo "the service never started" >&2
	sleep 0.5
	# (the service itself, socat and its cat, runs as that user too: it stays)
	ps -o pid=,comm= -u "$SSH_USER" | while read -r p c; do
		case $c in socat|cat) ;; *) kill -KILL "$p" 2>/dev/null ;; esac
	done
	wait "$PIPE"
	got=$(wc -c <"$T/cut.out")
	rc=$(cat "$T/cut.rc")
	echo "$client: cut after $got bytes, rc $rc: $(head -c 300 "$T/cut.err")" >&2
	if [ "$got" -lt 50000000 ] && [ "$rc" = 5 ] && [ -s "$T/cut.err" ]; then pass "ssh-cut/$client/cut-transfer-exits-5"
	else fail "ssh-cut/$client/cut-transfer-exits-5" "rc $rc after $got bytes: $(head -c 300 "$T/cut.err")"; fi
done
exit 0
