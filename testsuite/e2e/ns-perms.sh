# ns-perms.sh: a root shared by several users: mkroot's modes and refusals, users
# publishing side by side in the sticky scopes, socket permissions deciding who may
# connect (owner modes, and -m 0770 -g GROUP for a group), and private roots staying
# private. (Hostile trees: ns-hostile.sh.)
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root "shared root and permissions (needs users)" || exit 0
A=dipus_t_pa$$ B=dipus_t_pb$$ G=dipus_t_g$$ IN=dipus_t_in$$
groupadd "$G" && useradd -M -d /nonexistent -s /usr/sbin/nologin "$A" &&
	useradd -M -d /nonexistent -s /usr/sbin/nologin "$B" &&
	useradd -M -d /nonexistent -s /usr/sbin/nologin -G "$G" "$IN" || { fail "setup" "useradd/groupadd"; exit 0; }
cleanup_users() { userdel "$A"; userdel "$B"; userdel "$IN"; groupdel "$G"; } 2>/dev/null
on_exit cleanup_users
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"; }
# with the user's supplementary groups (for -g GROUP)
as_g() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups "$@"; }
# spawn cannot run a shell function: the setpriv line in full
spawn_as() { local u=$1; shift; spawn setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"; }
export DIPUS_HOST=p DIPUS_ROOT=$T/shared

# mkroot
expect_rc "mkroot as a user is refused (exit 4)" 4 as "$A" "$DIPUS" mkroot
expect_grep "...saying it must be root" "dipus: mkroot: must be run as root" "$ERR"
[ ! -e "$DIPUS_ROOT" ] && pass "...and made nothing" || fail "...and made nothing" "made it"
expect_rc "mkroot -u USER" 0 "$DIPUS" mkroot -u "$A"
modes() { stat -c '%a %U' "$DIPUS_ROOT" "$DIPUS_ROOT/local" "$DIPUS_ROOT/exported" "$DIPUS_ROOT/imported" "$DIPUS_ROOT/users" | tr '\n' ' ' | sed 's/ $//'; }
expect_eq "root, local, exported 1777; imported, users 0755; all root's" \
	"1777 root 1777 root 1777 root 755 root 755 root" "$(modes)"
expect_eq "users/USER is 0700 and the user's" "700 $A" "$(stat -c '%a %U' "$DIPUS_ROOT/users/$A")"
chmod 0755 "$DIPUS_ROOT/local"
expect_rc "mkroot again is harmless" 0 "$DIPUS" mkroot -u "$A" -u "$B"
expect_eq "...restores the modes" "1777 root 1777 root 1777 root 755 root 755 root" "$(modes)"
expect_eq "...and adds users/B" "700 $B" "$(stat -c '%a %U' "$DIPUS_ROOT/users/$B")"
expect_rc "mkroot -u with an unknown user: usage error" 2 "$DIPUS" mkroot -u no_such_user_dipus
expect_grep "...naming it" "-u no_such_user_dipus: no such user" "$ERR"
expect_rc "mkroot DIR must be absolute" 2 "$DIPUS" mkroot relative/dir
mkdir -m 0755 "$T/theirs"; chown "$A" "$T/theirs"
expect_rc "mkroot onto a user's directory is refused" 4 "$DIPUS" mkroot "$T/theirs"
expect_grep "...saying whose" "$T/theirs: exists and is owned by uid $(id -u "$A") \($A\); remove it first" "$ERR"
expect_eq "...and leaves it alone" "755 $A" "$(stat -c '%a %U' "$T/theirs")"
ln -s "$T/theirs" "$T/link"
expect_rc "mkroot onto a symlink is refused" 4 "$DIPUS" mkroot "$T/link"
expect_grep "...as a link" "$T/link: is a symbolic link or not a directory; remove it first" "$ERR"
expect_rc "mkroot inside a user's directory is refused" 4 "$DIPUS" mkroot "$T/theirs/r"
expect_grep "...as not root's" "$T/theirs: a shared root must be in a directory only root controls" "$ERR"

# two users publish side by side; the proto directory a user makes is theirs
spawn_as "$A" "$DIPUS" local-pipe -1 -m 0600 'echo from-a' a/shared/proto >"$T/ra"
wait_for 5 test -s "$T/ra"; SA=$(cat "$T/ra")
expect_eq "A's socket: A's, mode 0600, in A's new proto directory (0755)" "600 $A 755 $A" \
	"$(stat -c '%a %U' "$SA" "$DIPUS_ROOT/local/shared" | tr '\n' ' ' | sed 's/ $//')"
spawn_as "$B" "$DIPUS" export-pipe -1 'echo from-b' b >"$T/rb"
wait_for 5 test -s "$T/rb"; SB=$(cat "$T/rb")
expect_eq "B publishes in exported/ next to it (default mode 0666)" "666 $B" "$(stat -c '%a %U' "$SB")"
expect_rc "B may not publish below A's directory" 4 as "$B" "$DIPUS" local-pipe cat b2/shared/proto
expect_grep "...and is told whose it is" "$DIPUS_ROOT/local/shared: owned by $A, not by you or root" "$ERR"
run as "$B" "$DIPUS" dls -1
expect_eq "B lists both services, its own first (namespace.md: order)" "b.p a.p" "$(tr '\n' ' ' <"$OUT" | sed 's/ $//')"
run as "$B" "$DIPUS" dcat a </dev/null
expect_eq "B may not connect to A's 0600 socket (exit 1)" "1" "$RC"
expect_grep "...and is told why" "dipus: dcat: a: no service reachable \(1 tried; last: Permission denied\)" "$ERR"
expect_eq "A may" "from-a" "$(as "$A" "$DIPUS" dcat a </dev/null)"
expect_eq "anyone may use B's 0666 socket" "from-b" "$(as "$A" "$DIPUS" dcat b </dev/null)"
run as "$B" rm -f "$SA"
[ -S "$SA" ] && pass "the sticky scope keeps B from removing A's socket" || fail "sticky scope" "removed"

# a user's private root stays theirs
mkdir -m 0755 "$T/ahome"; chown "$A" "$T/ahome"
spawn env DIPUS_ROOT="$T/ahome/root" setpriv --reuid "$A" --regid "$(id -g "$A")" --clear-groups \
	"$DIPUS" local-pipe -1 cat priv >"$T/rp"
wait_for 5 test -s "$T/rp"
expect_eq "a private root is created 0700 for its user" "700 $A" "$(stat -c '%a %U' "$T/ahome/root")"
expect_rc "another user cannot use it" 4 env DIPUS_ROOT="$T/ahome/root" setpriv --reuid "$B" \
	--regid "$(id -g "$B")" --clear-groups "$DIPUS" dls
expect_rc "...nor even root (it is A's namespace, not root's)" 4 env DIPUS_ROOT="$T/ahome/root" "$DIPUS" dls
expect_grep "...with the reason" "$T/ahome/root: owned by $A, not by you or root" "$ERR"

# a group decides: -m 0770 -g GROUP serves the group's members only
export DIPUS_ROOT=$T/shared
spawn "$DIPUS" local-pipe -1 -m 0770 -g "$G" 'echo secret' vault >"$T/rv"
wait_for 5 test -s "$T/rv"; SV=$(cat "$T/rv")
expect_eq "-m 0770 -g GROUP: the socket has the mode and group asked for" "770 $G" "$(stat -c '%a %G' "$SV")"
run as_g "$IN" "$DIPUS" dcat vault </dev/null
expect_eq "a member of the group is served" "secret" "$(cat "$OUT")"
expect_rc "a user outside the group is refused" 1 as_g "$B" "$DIPUS" dcat vault </dev/null
expect_grep "...with the cause" "dipus: dcat: vault: no service reachable \(1 tried; last: Permission denied\)" "$ERR"
run as_g "$B" "$DIPUS" dls -1 vault
expect_eq "...who can still see that it exists (listing is not using)" "vault.p" "$(cat "$OUT")"
expect_rc "-g with an unknown group is a usage error" 2 "$DIPUS" local-pipe -g no_such_group_x cat x
expect_rc "-m with a bad mode is a usage error" 2 "$DIPUS" local-pipe -m 999 cat x
