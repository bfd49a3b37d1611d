# sep-anykey: authorized_keys is read into memory at start and again when it changes;
# a line "*" lets any key that proves itself in (opt-in), without it an unlisted key
# is refused.
# timeout: 60
. "$TOP/testsuite/lib.sh"
. "$TOP/testsuite/e2e/sep-lib.inc"
sep_setup sep-anykey

service in_exp echo test 'cat' || { fail sep-anykey/setup "echo service did not appear"; exit 1; }
# as root the exporter would drop to nobody, who cannot read the 0700 config dir to
# notice a change: it keeps root here (the file is then read again when it changes)
if [ "$(id -u)" = 0 ]; then AS=(-u root); else AS=(); fi
exporter_start "${AS[@]}" || { fail sep-anykey/setup "exporter did not start: $(tail -n 5 "$EXP_LOG")"; exit 1; }
U=sep://127.0.0.1:$PORT
expect_rc sep-anykey/listed-key-in 0 "$DIPUS" dls "$U"

echo "# nobody listed" >"$EXP_CONF/authorized_keys"
run "$DIPUS" dls "$U"
if [ "$RC" = 5 ] && grep -q "is not in .*authorized_keys" "$EXP_LOG"; then pass sep-anykey/unlisted-key-refused
else fail sep-anykey/unlisted-key-refused "rc $RC: $(tail -n 2 "$EXP_LOG")"; fi

printf '# a LAN where exported means public\n*\n' >"$EXP_CONF/authorized_keys"
run "$DIPUS" dls "$U"
if [ "$RC" = 0 ] && grep -q echo "$OUT"; then pass sep-anykey/star-lets-any-key-in
else fail sep-anykey/star-lets-any-key-in "rc $RC: $(cat "$ERR")"; fi

# as root, on a root only root can enter: the dropped user is told why and what to run
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 700 "$T/private" && mkdir -m 755 "$T/private/exported"
	P2=$(free_port)
	spawn env DIPUS_HOST=exp DIPUS_ROOT="$T/private" DIPUS_CONF="$EXP_CONF" \
		bash -c 'exec "$0" exporter --listen "127.0.0.1:$1" 2>>"$2"' "$DIPUS" "$P2" "$T/priv.log"
	wait_for 10 grep -q 'cannot reach' "$T/priv.log"
	if grep -q "user nobody .*cannot reach $T/private/exported.*dipus mkroot" "$T/priv.log"; then
		pass sep-anykey/unreachable-exported-explained
	else fail sep-anykey/unreachable-exported-explained "$(cat "$T/priv.log")"; fi
fi
exit 0
