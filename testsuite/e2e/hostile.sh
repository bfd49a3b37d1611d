# hostile.sh: the known path is an attack surface: roots and directories of other
# users, symlinks, impostor files are refused or skipped with the expected message.
# timeout: 120
. "$TOP/testsuite/lib.sh"
need_root "hostile namespace (needs other users)" || exit 0
U=dipus_t_h$$
useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || { fail "useradd" "could not create $U"; exit 0; }
cleanup_user() { userdel "$U" 2>/dev/null; }
on_exit cleanup_user
UID_U=$(id -u "$U")
as_user() { setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$@"; }
chmod 755 "$T"

# a root owned by another user is refused, with what to do
export DIPUS_HOST=h
export DIPUS_ROOT=$T/theirs
mkdir -m 0755 "$DIPUS_ROOT"; chown "$U" "$DIPUS_ROOT"
expect_rc "a root owned by another user is refused" 4 "$DIPUS" dls
expect_grep "...saying whose it is and what to do" "dipus: dls: $DIPUS_ROOT: owned by $U, not by you or root; remove it, or set DIPUS_ROOT" "$ERR"
expect_rc "publishing there is refused too" 4 "$DIPUS" local-pipe cat x
expect_grep "...with the same reason" "owned by $U, not by you or root" "$ERR"

# a symlinked root is refused
mkdir "$T/real"
ln -s "$T/real" "$T/link"
export DIPUS_ROOT=$T/link
expect_rc "a symlinked root is refused" 4 "$DIPUS" dls
expect_grep "...because it is a symlink" "$T/link: is a symbolic link; dipus never follows links" "$ERR"

# a world-writable root without the sticky bit is refused
mkdir -m 0777 "$T/open"; chmod 0777 "$T/open"
export DIPUS_ROOT=$T/open
expect_rc "a world-writable, non-sticky root is refused" 4 "$DIPUS" dls
expect_grep "...with the fix" "world-writable without the sticky bit; run 'chmod \+t" "$ERR"

# inside a good shared root
export DIPUS_ROOT=$T/shared
expect_rc "mkroot makes a shared root" 0 "$DIPUS" mkroot -u "$U"
expect_eq "root and scopes are 1777 root" "1777 root 1777 1777 1777 755" \
	"$(stat -c %a "$DIPUS_ROOT") $(stat -c %U "$DIPUS_ROOT") $(stat -c %a "$DIPUS_ROOT/local" "$DIPUS_ROOT/exported" "$DIPUS_ROOT/imported" "$DIPUS_ROOT/users" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "users/USER is 0700 and theirs" "700 $U" "$(stat -c '%a %U' "$DIPUS_ROOT/users/$U")"
expect_rc "mkroot again is harmless" 0 "$DIPUS" mkroot -u "$U"

spawn "$DIPUS" local-pipe -1 'echo real' target >"$T/r1"
wait_for 5 test -s "$T/r1"
# a symlink inside the tree, pointing at another socket, is never followed
mkdir -p "$DIPUS_ROOT/local/evil"
ln -s "$(cat "$T/r1")" "$DIPUS_ROOT/local/evil/fake.h...0"
expect_rc "a symlink named like a service is not listed" 1 "$DIPUS" dls fake
expect_rc "...nor used" 1 "$DIPUS" dcat fake </dev/null
ln -s "$DIPUS_ROOT/local" "$DIPUS_ROOT/local/loop"
run "$DIPUS" dls -1
expect_eq "a symlinked directory is not walked" "target.h" "$(cat "$OUT")"
# a regular file named like a socket is skipped
echo "not a socket" >"$DIPUS_ROOT/local/file.h...0"
expect_rc "a regular file named like a service is not listed" 1 "$DIPUS" dls file
expect_rc "...nor used" 1 "$DIPUS" dcat "$DIPUS_ROOT/local/file.h...0" </dev/null

# a directory of another non-root user: a socket of someone else below it is
# untrusted (that user could swap it for their own): skipped, flagged by dls -l
spawn setpriv --reuid "$U" --regid "$(id -g "$U")" --clear-groups "$DIPUS" local-pipe -1 'echo theirs' theirs/proto >"$T/r2"
wait_for 5 test -s "$T/r2"
spawn python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); import time; time.sleep(60)" \
	"$DIPUS_ROOT/local/proto/impostor.h...0"
wait_for 5 test -S "$DIPUS_ROOT/local/proto/impostor.h...0"
expect_rc "a socket below another user's directory is skipped by dls" 1 "$DIPUS" dls impostor
run "$DIPUS" dls -l impostor
expect_grep "dls -l flags it UNTRUSTED" "impostor +h +proto +local +UNTRUSTED" "$OUT"
expect_rc "dcat skips it" 1 "$DIPUS" dcat impostor </dev/null
run "$DIPUS" dls -1 theirs
expect_eq "that user's own socket in their own directory is theirs to offer" "theirs.h" "$(cat "$OUT")"
# a publisher refuses to publish below another (non-root) user's directory
expect_rc "publishing below another user's directory is refused" 4 "$DIPUS" local-pipe cat mine/proto
expect_grep "...with the reason" "$DIPUS_ROOT/local/proto: owned by $U, not by you or root" "$ERR"
