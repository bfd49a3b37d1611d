# ssh-bulk: "dipus import ssh://" and "dcat ssh://" (alone, or through the importer's
# control socket) carry their data on
# direct-streamlocal channels of the SSH session (doc/ssh.md "Bulk data"), against
# sshd and dropbear: the service's peer is then the SSH server itself, not "dipus
# serve"; bytes in equal bytes out both ways (half-close); many at once; the kernel
# still decides access; a server that forbids socket forwarding gets the same data
# over SEP; nothing leaks.
# timeout: 600
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/ssh-lib.inc"
ssh_setup ssh-bulk || exit 0
need_cmd ssh-bulk /usr/bin/python3 || exit 0  # the system one: the test users run it
sshd_start || { fail ssh-bulk/setup "sshd did not start"; exit 1; }
dropbear_start || { fail ssh-bulk/setup "dropbear did not start"; exit 1; }
# a second sshd that forbids socket forwarding
NOFWD_PORT=$(free_port)
sed -e "s/^Port .*/Port $NOFWD_PORT/" -e "s|^PidFile .*|PidFile $T/sshd-nofwd.pid|" \
	"$T/sshd_config" >"$T/sshd_config.nofwd"
echo "AllowStreamLocalForwarding no" >>"$T/sshd_config.nofwd"
spawn /usr/sbin/sshd -D -e -f "$T/sshd_config.nofwd" 2>>"$T/sshd-nofwd.log"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$NOFWD_PORT" ||
	{ fail ssh-bulk/setup "second sshd did not start"; exit 1; }

# the installed dropbear server: direct-streamlocal since 2024.84, as root until
# 2025.88 (dbclient then keeps to SEP, doc/ssh.md): before 2025.89, serve connects
DB_VER=$(dropbear -V 2>&1 | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1\2/p' | head -n 1)
if [ "${DB_VER:-0}" -ge 202589 ]; then DB_PEER='^dropbear$'; else DB_PEER='^dipus$'; fi

# The services: first a line naming their peer process (SO_PEERCRED -> /proc/PID/comm),
# then "hash": the SHA-256 of all the client sent, once it half-closed; "src FILE": the
# file. (Not an echo: a serial echo and a client writing with blocking writes deadlock
# on any finite buffers, whatever carries the bytes.)
cat >"$T/peer-svc.py" <<'EOF'
import hashlib, os, socket, struct, sys, threading
path, mode, what = sys.argv[1], int(sys.argv[2], 8), sys.argv[3:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, mode)
s.listen(64)
def serve(c):
    try:
        pid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        try:
            comm = open("/proc/%d/comm" % pid).read().strip()
        except OSError:
            comm = "?"
        c.sendall(comm.encode() + b"\n")
        if what[0] == "hash":
            h = hashlib.sha256()
            while True:
                b = c.recv(262144)
                if not b:
                    break
                h.update(b)
            c.sendall(h.hexdigest().encode() + b"\n")
        else:
            with open(what[1], "rb") as f:
                while True:
                    b = f.read(262144)
                    if not b:
                        break
                    c.sendall(b)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
head -c 64M /dev/urandom >"$T/data"
chmod 644 "$T/data"
WANT=$(sha "$T/data")
L=$REMOTE_ROOT/local
as_user "$SSH_USER" mkdir -p "$L/test"
chmod 1777 "$L/test"  # the second user publishes there too
spawn_as "$SSH_USER" /usr/bin/python3 "$T/peer-svc.py" "$L/test/peer.remote...0" 666 hash
spawn_as "$SSH_USER" /usr/bin/python3 "$T/peer-svc.py" "$L/test/src.remote...0" 666 src "$T/data"
# another remote user's private service: not imported, or not reachable through it
spawn_as "$SSH_USER2" /usr/bin/python3 "$T/peer-svc.py" "$L/test/private.remote...0" 600 hash
for s in peer src private; do
	wait_for 10 test -S "$L/test/$s.remote...0" || { fail ssh-bulk/setup "service $s did not start"; exit 1; }
done
ME=$(id -un)
UDIR=$DIPUS_ROOT/users/$ME
proxy() { find "$UDIR" -name "$1.*" -type s 2>/dev/null | head -n 1; }
# up P FILE: send FILE, half-close; $T/peer gets the peer line; prints the hash line
up() {
	local f=$T/got.$BASHPID
	socat -t 30 - UNIX-CONNECT:"$1" <"$2" >"$f" 2>/dev/null
	head -n 1 "$f" >"$T/peer"
	sed -n 2p "$f"
	rm -f "$f"
}
# down P: what the source sends after its peer line, hashed
down() { socat -b 262144 -u UNIX-CONNECT:"$1" - 2>/dev/null | tail -n +2 | sha256sum | cut -d' ' -f1; }

for server in ${SERVERS:-sshd dropbear nofwd}; do
	case $server in
	sshd) PORT=$SSHD_PORT; PEER='^sshd' ;;
	dropbear) PORT=$DROPBEAR_PORT; PEER=$DB_PEER ;;
	nofwd) PORT=$NOFWD_PORT; PEER='^dipus$' ;;  # forwarding forbidden: serve connects
	esac
	U=ssh://$SSH_USER@127.0.0.1:$PORT
	use_dbclient

	# dcat ssh:// on its own (no importer): its own session, a direct channel
	run sh -c "timeout 60 '$DIPUS' dcat '$U/peer' <'$T/data'"
	expect_eq "ssh-bulk/$server/dcat-up-sha256" "$WANT" "$(sed -n 2p "$OUT")"
	if head -n 1 "$OUT" | grep -Eq "$PEER"; then pass "ssh-bulk/$server/dcat-peer-is-$(echo "$PEER" | tr -d '^$')"
	else fail "ssh-bulk/$server/dcat-peer" "wanted $PEER, the service saw '$(head -n 1 "$OUT")'"; fi
	expect_eq "ssh-bulk/$server/dcat-down-sha256" "$WANT" \
		"$(timeout 60 "$DIPUS" dcat "$U/src" </dev/null 2>/dev/null | tail -n +2 | sha256sum | cut -d' ' -f1)"

	spawn sh -c "DIPUS_DEBUG=1 exec '$DIPUS' import '$U' 2>'$T/imp-$server.err'"
	IMP=$SPAWNED
	if ! wait_for 20 sh -c "find '$UDIR' -name 'src.*' -type s | grep -q ."; then
		fail "ssh-bulk/$server/proxy-appears" "no proxies under $UDIR"; kill -- -"$IMP"; continue
	fi
	P=$(proxy peer)

	expect_eq "ssh-bulk/$server/64MiB-up-sha256-half-close" "$WANT" "$(up "$P" "$T/data")"
	if grep -Eq "$PEER" "$T/peer"; then pass "ssh-bulk/$server/service-peer-is-$(echo "$PEER" | tr -d '^$')"
	else fail "ssh-bulk/$server/service-peer" "wanted $PEER, the service saw '$(cat "$T/peer")'"; fi
	expect_eq "ssh-bulk/$server/64MiB-down-sha256" "$WANT" "$(down "$(proxy src)")"

	# dcat while the importer runs: through its control socket, and the data on a
	# direct channel all the same
	run sh -c "DIPUS_DEBUG=1 timeout 60 '$DIPUS' dcat '$U/peer' <'$T/data'"
	expect_grep "ssh-bulk/$server/shared-dcat-shares" 'sharing the session' "$ERR"
	expect_eq "ssh-bulk/$server/shared-dcat-up-sha256" "$WANT" "$(sed -n 2p "$OUT")"
	if head -n 1 "$OUT" | grep -Eq "$PEER"; then pass "ssh-bulk/$server/shared-dcat-peer-is-$(echo "$PEER" | tr -d '^$')"
	else fail "ssh-bulk/$server/shared-dcat-peer" "wanted $PEER, the service saw '$(head -n 1 "$OUT")'"; fi

	# many at once, each its own bytes
	pids=""
	for i in $(seq 1 16); do
		head -c $((i * 100000)) "$T/data" >"$T/part$i"
		( [ "$(up "$P" "$T/part$i")" = "$(sha "$T/part$i")" ] ) &
		pids="$pids $!"
	done
	bad=0
	for p in $pids; do wait "$p" || bad=$((bad + 1)); done
	expect_eq "ssh-bulk/$server/16-concurrent-equal" 0 "$bad"

	# the kernel decides: another user's 0600 socket is not imported, or not reachable
	if [ -n "$(proxy private)" ]; then
		run sh -c "echo x | socat -t 5 - UNIX-CONNECT:'$(proxy private)'"
		if [ ! -s "$OUT" ]; then pass "ssh-bulk/$server/private-unreachable"
		else fail "ssh-bulk/$server/private-unreachable" "got $(head -c 100 "$OUT")"; fi
	else
		pass "ssh-bulk/$server/private-not-imported"
	fi

	# no leak: descriptors of the importer and of its dbclient, zombies
	DB=$(pgrep -P "$IMP" -f dbclient | head -n 1)
	[ -n "$DB" ] || fail "ssh-bulk/$server/dbclient-found" "no dbclient child of the importer ($IMP)"
	fi0=$(fd_count "$IMP"); fd0=$(fd_count "${DB:-0}")
	i=0; ok=0
	while [ $i -lt 100 ]; do
		r=$(echo "n$i" | socat -t 5 - UNIX-CONNECT:"$P" 2>/dev/null | tail -n 1)
		[ "$r" = "$(echo "n$i" | sha256sum | cut -d' ' -f1)" ] && ok=$((ok + 1))
		i=$((i + 1))
	done
	expect_eq "ssh-bulk/$server/100-sequential" 100 "$ok"
	sleep 0.3
	expect_eq "ssh-bulk/$server/importer-no-fd-leak" "$fi0" "$(fd_count "$IMP")"
	[ -n "$DB" ] && expect_eq "ssh-bulk/$server/dbclient-no-fd-leak" "$fd0" "$(fd_count "$DB")"
	# forwarding off says "connect failed": after a few refusals serve accepted, the
	# importer keeps to SEP for a while; a server that forwards never gets there
	if [ $server = nofwd ]; then
		expect_grep "ssh-bulk/$server/refusals-pause-direct" 'SEP only for' "$T/imp-$server.err"
	elif grep -q 'SEP only for' "$T/imp-$server.err"; then
		fail "ssh-bulk/$server/no-direct-pause" "$(grep 'SEP only for' "$T/imp-$server.err" | head -n 1)"
	else
		pass "ssh-bulk/$server/no-direct-pause"
	fi
	expect_eq "ssh-bulk/$server/no-zombies" 0 "$(zombies_of "$IMP")"

	kill -TERM -- -"$IMP" 2>/dev/null
	wait_for 5 sh -c "! kill -0 $IMP 2>/dev/null"
	if wait_for 5 sh -c "! find '$UDIR' -name 'peer.*' -type s | grep -q ."; then pass "ssh-bulk/$server/proxies-removed"
	else fail "ssh-bulk/$server/proxies-removed" "proxy left after SIGTERM"; fi
done
