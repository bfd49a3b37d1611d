# deps.sh: pinned dependencies: checksum refusal, offline reuse, embedded dbclient.
# timeout: 120
. "$TOP/testsuite/lib.sh"

fetch=$TOP/scripts/fetch-deps.sh
want=$(sed -n 's/^sha256 *\([0-9a-f]*\) .*/\1/p' "$TOP/scripts/deps/mbedtls.hash")

# a corrupt archive in DL_DIR is refused with both hashes, and left where it was
mkdir "$T/dl"
echo "not an archive" >"$T/dl/mbedtls_3.6.6.orig.tar.bz2"
bad=$(sha "$T/dl/mbedtls_3.6.6.orig.tar.bz2")
expect_rc "checksum mismatch refused" 1 sh "$fetch" --dl-dir "$T/dl" mbedtls
expect_grep "mismatch names the file and both hashes" \
	"mbedtls_3.6.6.orig.tar.bz2: checksum mismatch \(expected $want, got $bad\)" "$ERR"
expect_eq "the corrupt archive is not replaced behind the user's back" "$bad" "$(sha "$T/dl/mbedtls_3.6.6.orig.tar.bz2")"

# an archive already in DL_DIR is verified and reused with no network: apt-get is a
# stand-in that always fails, so any download attempt would fail the run
printf '#!/bin/sh\nexit 100\n' >"$T/apt-get"; chmod +x "$T/apt-get"
dl=${DL_DIR:-$TOP/dl}  # make exports DL_DIR
if [ -f "$dl/mbedtls_3.6.6.orig.tar.bz2" ]; then
	mkdir "$T/dl2"
	cp "$dl/mbedtls_3.6.6.orig.tar.bz2" "$T/dl2/"
	before=$(stat -c %Y "$T/dl2/mbedtls_3.6.6.orig.tar.bz2")
	expect_rc "a present, valid archive is reused offline" 0 env PATH="$T:$PATH" sh "$fetch" --dl-dir "$T/dl2" mbedtls
	expect_eq "the reused archive is untouched" "$before" "$(stat -c %Y "$T/dl2/mbedtls_3.6.6.orig.tar.bz2")"
else
	fail "a present, valid archive is reused offline" "no mbedtls archive in $dl (make fetches it: build the full config first)"
fi

# missing archive, no way to download: a clear message naming the file and DL_DIR
mkdir "$T/dl3"
expect_rc "a missing archive without network fails" 1 env PATH="$T:$PATH" sh "$fetch" --dl-dir "$T/dl3" dropbear
expect_grep "the failure names the archive and DL_DIR" "dropbear_2025.89.orig.tar.bz2: not in $T/dl3" "$ERR"
expect_eq "nothing half-written is left in DL_DIR" "" "$(ls -A "$T/dl3")"

if need_applet "dipus dbclient -V prints dropbear's version" dbclient; then
	run "$DIPUS" dbclient -V
	expect_grep "dipus dbclient -V prints dropbear's version" "Dropbear v2025\.89" "$ERR"
fi
