# perms.sh: access control is file permissions: a -m 0770 -g GROUP service is refused
# to a user outside the group and served to one in it.
# timeout: 60
. "$TOP/testsuite/lib.sh"
need_root "permissions (needs users and a group)" || exit 0
G=dipus_t_g$$ IN=dipus_t_in$$ OUTU=dipus_t_out$$
groupadd "$G" && useradd -M -d /nonexistent -s /usr/sbin/nologin -G "$G" "$IN" &&
	useradd -M -d /nonexistent -s /usr/sbin/nologin "$OUTU" || { fail "setup" "useradd/groupadd"; exit 0; }
cleanup_users() { userdel "$IN"; userdel "$OUTU"; groupdel "$G"; } 2>/dev/null
on_exit cleanup_users
chmod 755 "$T"
export DIPUS_HOST=p DIPUS_ROOT=$T/root
"$DIPUS" mkroot
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups "$@"; }

spawn "$DIPUS" local-pipe -1 -m 0770 -g "$G" 'echo secret' vault >"$T/r"
wait_for 5 test -s "$T/r"
S=$(cat "$T/r")
expect_eq "the socket has the mode and group asked for" "770 $G" "$(stat -c '%a %G' "$S")"
run as "$IN" "$DIPUS" dcat vault </dev/null
expect_eq "a member of the group is served" "secret" "$(cat "$OUT")"
expect_rc "a user outside the group is refused" 1 as "$OUTU" "$DIPUS" dcat vault </dev/null
expect_grep "...with the cause" "dipus: dcat: vault: no service reachable \(1 tried; last: Permission denied\)" "$ERR"
run as "$OUTU" "$DIPUS" dls -1 vault
expect_eq "...who can still see that it exists (listing is not using)" "vault.p" "$(cat "$OUT")"
expect_rc "-g with an unknown group is a usage error" 2 "$DIPUS" local-pipe -g no_such_group_x cat x
expect_rc "-m with a bad mode is a usage error" 2 "$DIPUS" local-pipe -m 999 cat x
