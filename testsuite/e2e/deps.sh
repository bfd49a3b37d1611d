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

# an archive already in DL_DIR is verified and reused with no network: apt-get, curl
# and wget are stand-ins that always fail, so any download attempt would fail the run
for t in apt-get curl wget; do printf '#!/bin/sh\nexit 100\n' >"$T/$t"; chmod +x "$T/$t"; done
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

# no Debian route: the upstream URL of the hash file, held to the same checksum. curl is
# a stand-in that logs the URL and serves a local file (no traffic leaves the machine)
mkdir "$T/up"
cat >"$T/up/curl" <<'EOS'
#!/bin/sh
while [ $# -gt 1 ]; do [ "$1" = -o ] && { out=$2; shift; }; shift; done
echo "$1" >>"$UP_LOG"
cp "$UP_FILE" "$out"
EOS
chmod +x "$T/up/curl"; cp "$T/apt-get" "$T/up/apt-get"
url=$(sed -n 's/^# upstream: *//p' "$TOP/scripts/deps/mbedtls.hash")
arch=$dl/mbedtls_3.6.6.orig.tar.bz2
if [ -f "$arch" ]; then
	mkdir "$T/dl4"
	expect_rc "without apt, the upstream archive is fetched and verified" 0 env PATH="$T/up:$PATH" \
		UP_LOG="$T/up.log" UP_FILE="$arch" sh "$fetch" --dl-dir "$T/dl4" mbedtls
	expect_eq "the upstream URL is the hash file's" "$url" "$(cat "$T/up.log" 2>/dev/null)"
	expect_eq "it is kept under the pinned name" "$want" "$(sha "$T/dl4/mbedtls_3.6.6.orig.tar.bz2")"
else
	skip "without apt, the upstream archive is fetched and verified" "no archive in dl/"
fi
mkdir "$T/dl5"
expect_rc "an upstream archive with another checksum is refused" 1 env PATH="$T/up:$PATH" \
	UP_LOG="$T/up.log" UP_FILE="$T/dl/mbedtls_3.6.6.orig.tar.bz2" sh "$fetch" --dl-dir "$T/dl5" mbedtls
expect_grep "the refusal names both hashes" "checksum mismatch \(expected $want, got $bad\)" "$ERR"
expect_eq "nothing unverified is kept" "" "$(ls -A "$T/dl5")"

if need_applet "dipus dbclient -V prints dropbear's version" dbclient; then
	run "$DIPUS" dbclient -V
	expect_grep "dipus dbclient -V prints dropbear's version" "Dropbear v2025\.89" "$ERR"
fi
