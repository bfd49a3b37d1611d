# ns-hostile.sh: a namespace under attack: roots and directories of another user,
# symlinks anywhere in the tree, impostor files, world-writable directories, '..' in
# paths: each refused or skipped with a message naming the path and the cause, nothing
# followed.
# (hostile.sh, a subset of this, was merged in; mkroot's modes are in ns-perms.sh.)
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root "hostile namespace (needs another user)" || exit 0
need_cmd "hostile namespace" socat || exit 0
U=dipus_t_nh$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || { fail "setup" "useradd $U"; exit 0; }
cleanup_user() { userdel "$U"; }
on_exit cleanup_user
as_u() { setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$@"; }
export DIPUS_HOST=h

# --- roots ---
# another user's root: refused, naming the owner and the fix, for listing and publishing
export DIPUS_ROOT=$T/theirs
mkdir -m 0755 "$DIPUS_ROOT"; chown "$U" "$DIPUS_ROOT"
expect_rc "another user's root: dls refuses (exit 4)" 4 "$DIPUS" dls
expect_eq "...saying whose it is and what to do" \
	"dipus: dls: $DIPUS_ROOT: owned by $U, not by you or root; remove it, or set DIPUS_ROOT to a directory of your own" "$(cat "$ERR")"
expect_rc "...dcat refuses too" 4 "$DIPUS" dcat x </dev/null
expect_rc "...publishing too" 4 "$DIPUS" local-pipe cat x
expect_grep "...with the same reason" "dipus: local-pipe: $DIPUS_ROOT: owned by $U" "$ERR"
expect_eq "...and nothing was chmod-ed or chown-ed" "755 $U" "$(stat -c '%a %U' "$DIPUS_ROOT")"
# a private 0700 root of another user (we can see whose it is without entering)
chmod 0700 "$DIPUS_ROOT"
expect_rc "another user's 0700 root: refused the same way" 4 "$DIPUS" dls
expect_grep "...naming the owner" "owned by $U, not by you or root" "$ERR"

# a symlinked root, even to a good directory of ours
mkdir -m 0700 "$T/real"; ln -s "$T/real" "$T/link"
export DIPUS_ROOT=$T/link
expect_rc "a symlinked root is refused" 4 "$DIPUS" dls
expect_grep "...because it is a link" "$T/link: is a symbolic link; dipus never follows links in its tree" "$ERR"
expect_rc "...also with a trailing slash" 4 env DIPUS_ROOT="$T/link/" "$DIPUS" dls
expect_rc "...publishing refuses too" 4 "$DIPUS" local-pipe cat x
[ -z "$(ls -A "$T/real")" ] && pass "...and nothing was made through the link" || fail "...and nothing was made through the link" "$(ls -A "$T/real")"

# world-writable without the sticky bit
mkdir "$T/open"; chmod 0777 "$T/open"
export DIPUS_ROOT=$T/open
expect_rc "a world-writable root without +t is refused" 4 "$DIPUS" dls
expect_grep "...with the fix" "$T/open: world-writable without the sticky bit; run 'chmod \+t $T/open'" "$ERR"
# a root is not created inside an unsafe parent
export DIPUS_ROOT=$T/open/r
expect_rc "no root is created in a world-writable, non-sticky parent" 4 "$DIPUS" local-pipe cat x
expect_grep "...saying why" "$T/open/r: not created, its parent is not safe: $T/open: world-writable without the sticky bit" "$ERR"
[ ! -e "$T/open/r" ] && pass "...and it was not" || fail "...and it was not" "created"
mkdir -m 0755 "$T/upar"; chown "$U" "$T/upar"
export DIPUS_ROOT=$T/upar/r
expect_rc "no root is created in another user's directory" 4 "$DIPUS" local-pipe cat x
expect_grep "...saying whose" "not created, its parent is not safe: $T/upar: owned by $U" "$ERR"
# a regular file as the root
: >"$T/file"
expect_rc "a file as the root is refused" 4 env DIPUS_ROOT="$T/file" "$DIPUS" dls
expect_grep "...as not a directory" "$T/file: not a directory" "$ERR"

# --- inside a private root of ours ---
export DIPUS_ROOT=$T/mine
spawn "$DIPUS" local-pipe -1 'echo real' real/p >"$T/r1"
wait_for 5 test -s "$T/r1"; REAL=$(cat "$T/r1")
expect_eq "a root that did not exist is created by root as a shared root (mkroot's modes)" "1777 root" "$(stat -c '%a %U' "$DIPUS_ROOT")"
chmod 0700 "$DIPUS_ROOT"  # root's private namespace from here on

# a symlink named like a service, pointing at a live socket: not listed, not used
ln -s "$REAL" "$DIPUS_ROOT/local/p/fake.h...0"
expect_rc "a symlink named like a service is not listed" 1 "$DIPUS" dls fake
expect_rc "...nor used by name" 1 "$DIPUS" dcat fake </dev/null
run "$DIPUS" dcat "$DIPUS_ROOT/local/p/fake.h...0" </dev/null
expect_eq "...nor by its path inside the tree" "1" "$RC"
# a symlinked directory inside the tree: not walked, not a way in
mkdir -p "$T/elsewhere/proto"
spawn socat UNIX-LISTEN:"$T/elsewhere/proto/out.h...0",fork EXEC:"echo outside"
wait_for 5 test -S "$T/elsewhere/proto/out.h...0"
ln -s "$T/elsewhere" "$DIPUS_ROOT/local/via"
ln -s "$DIPUS_ROOT/local" "$DIPUS_ROOT/local/loop"
run "$DIPUS" dls -1
expect_eq "symlinked directories are not walked (no loop, nothing outside)" "real.h" "$(cat "$OUT")"
expect_rc "a path through a symlinked directory is not followed" 1 "$DIPUS" dcat "$DIPUS_ROOT/local/via/proto/out.h...0" </dev/null
expect_rc "...nor listed" 1 "$DIPUS" dls "$DIPUS_ROOT/local/via/proto/out.h...0"
# '..' and '.' in a path inside the tree
# (normalised lexically first, then walked: it is the service it spells, never more)
expect_rc "a path with '..' inside the tree names the service it spells" 0 "$DIPUS" dls "$DIPUS_ROOT/local/p/../../local/p/real.h...0"
expect_rc "...and is no way through a symlinked directory" 1 "$DIPUS" dls "$DIPUS_ROOT/local/via/../via/proto/out.h...0"
expect_rc "'..' in a proto query is refused" 2 "$DIPUS" dls "p/../p"
# a regular file and a fifo named like services
echo "not a socket" >"$DIPUS_ROOT/local/p/file.h...0"
mkfifo "$DIPUS_ROOT/local/p/fifo.h...0"
expect_rc "a regular file named like a service is not listed" 1 "$DIPUS" dls file
expect_rc "...a fifo neither" 1 "$DIPUS" dls fifo
expect_rc "...nor used by path" 1 "$DIPUS" dcat "$DIPUS_ROOT/local/p/file.h...0" </dev/null
# a scope directory replaced by a symlink: that scope holds nothing
# (a shared root made by root has exported/ from the start: replace it)
mkdir "$T/ex"; rmdir "$DIPUS_ROOT/exported" 2>/dev/null; ln -s "$T/ex" "$DIPUS_ROOT/exported"
spawn socat UNIX-LISTEN:"$T/ex/sneaky.h...0",fork EXEC:"echo sneaky"
wait_for 5 test -S "$T/ex/sneaky.h...0"
expect_rc "a symlinked scope directory is not listed" 1 "$DIPUS" dls sneaky
expect_rc "...and publishing there is refused" 4 "$DIPUS" export-pipe cat x
expect_grep "...because it is a link" "$DIPUS_ROOT/exported: is a symbolic link" "$ERR"

# --- a shared root (mkroot) with another user in it ---
export DIPUS_ROOT=$T/shared
"$DIPUS" mkroot -u "$U" || fail "mkroot" "exit $?"
# their directory, their socket: fine; our socket below their directory: untrusted
spawn setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$DIPUS" local-pipe -1 'echo theirs' theirs/tproto >"$T/r2"
wait_for 5 test -s "$T/r2"
expect_eq "a user's proto directory is theirs, 0755" "755 $U" "$(stat -c '%a %U' "$DIPUS_ROOT/local/tproto")"
run "$DIPUS" dls -1 theirs
expect_eq "their socket in their directory is listed" "theirs.h" "$(cat "$OUT")"
spawn socat UNIX-LISTEN:"$DIPUS_ROOT/local/tproto/impostor.h...0",fork EXEC:"echo impostor"
wait_for 5 test -S "$DIPUS_ROOT/local/tproto/impostor.h...0"
expect_rc "a socket below another user's directory is skipped by dls" 1 "$DIPUS" dls impostor
run "$DIPUS" dls -l impostor
expect_grep "dls -l shows it, flagged UNTRUSTED" "^root +root +[0-7]+ +impostor +h +tproto +local +UNTRUSTED$" "$OUT"
run "$DIPUS" dls --json impostor
expect_grep "dls --json says untrusted:true" '"untrusted":true' "$OUT"
expect_rc "dcat skips it" 1 "$DIPUS" dcat impostor </dev/null
expect_rc "publishing below another user's directory is refused" 4 "$DIPUS" local-pipe cat mine/tproto
expect_grep "...saying whose it is" "dipus: local-pipe: $DIPUS_ROOT/local/tproto: owned by $U, not by you or root" "$ERR"
# a world-writable, non-sticky directory below a scope: anyone could swap the socket
mkdir -m 0777 "$DIPUS_ROOT/local/wide"; chmod 0777 "$DIPUS_ROOT/local/wide"
spawn socat UNIX-LISTEN:"$DIPUS_ROOT/local/wide/ww.h...0",fork EXEC:"echo ww"
wait_for 5 test -S "$DIPUS_ROOT/local/wide/ww.h...0"
expect_rc "a socket below a world-writable, non-sticky directory is untrusted" 1 "$DIPUS" dls ww
run "$DIPUS" dls -l ww
expect_grep "...flagged by -l" " UNTRUSTED$" "$OUT"
# another user's private users/<name>/ is never listed, even by root
mkdir -p "$DIPUS_ROOT/users/$U/p"; chown -R "$U" "$DIPUS_ROOT/users/$U"; chmod 0700 "$DIPUS_ROOT/users/$U"
spawn socat UNIX-LISTEN:"$DIPUS_ROOT/users/$U/p/private.h...0",fork EXEC:"echo private"
wait_for 5 test -S "$DIPUS_ROOT/users/$U/p/private.h...0"
expect_rc "another user's users/<name>/ is not listed" 1 "$DIPUS" dls private
# our private root is closed to the other user
run env DIPUS_ROOT="$T/mine" setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$DIPUS" dls real
expect_eq "another user cannot list our private root (exit 4)" "4" "$RC"
expect_grep "...and is told why" "dipus: dls: $T/mine: Permission denied" "$ERR"
