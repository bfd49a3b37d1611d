# dispatch.sh: the multicall binary: applet table, argv[0] dispatch, --install, configs.
# timeout: 300
. "$TOP/testsuite/lib.sh"

expect_rc "--list exits 0" 0 "$DIPUS" --list
cp "$OUT" "$T/list"
# --list matches the configuration the binary was built from
conf=${DIPUS_CONFIG:-$TOP/.config}
if [ -f "$conf" ]; then
	# the applets are the //applet: lines of applets/*.c; features (TLS, DISCOVERY...) are not
	want=$(sed -n 's|^//applet:APPLET([a-z_0-9]*, *"\([^"]*\)".*|\1|p' "$TOP"/applets/*.c |
		while read -r a; do
			grep -qx "CONFIG_$(echo "$a" | tr 'a-z-' 'A-Z_')=y" "$conf" && echo "$a"
		done | sort | tr '\n' ' ')
	got=$(sort "$T/list" | tr '\n' ' ')
	expect_eq "--list matches $(basename "$conf")" "$want" "$got"
fi

expect_rc "--help exits 0" 0 "$DIPUS" --help
expect_grep "--help lists applets" "^  dcat " "$OUT"
expect_rc "--version exits 0" 0 "$DIPUS" --version
expect_grep "--version names dipus" "^dipus [0-9]" "$OUT"
if grep -qx dbclient "$T/list"; then
	expect_grep "--version names mbedTLS and dropbear" "mbedTLS 3\.6\.6, dropbear 2025\.89" "$OUT"
fi

expect_rc "unknown applet exits 2" 2 "$DIPUS" no-such-applet
expect_grep "unknown applet says how to list" "no such applet.*dipus --list" "$ERR"
expect_rc "no arguments exits 2" 2 "$DIPUS"

# APPLET --help for every applet: usage on stdout, exit 0
bad=""
while read -r a; do
	run "$DIPUS" "$a" --help
	{ [ "$RC" = 0 ] && grep -q "$a" "$OUT"; } || bad="$bad $a"
done <"$T/list"
expect_eq "every APPLET --help prints usage and exits 0" "" "$bad"

# an unknown option, for every applet but dbclient (dropbear's own options): exactly
# one line in the documented format (doc/exit-codes.md), exit 2; -h prints the usage
bad=""
while read -r a; do
	[ "$a" = dbclient ] && continue
	run "$DIPUS" "$a" -x
	[ "$RC" = 2 ] || bad="$bad $a(rc=$RC)"
	[ "$(cat "$ERR")" = "dipus: $a: unknown option -x (see 'dipus $a --help')" ] || bad="$bad $a(message)"
	run "$DIPUS" "$a" -h
	{ [ "$RC" = 0 ] && grep -q "^usage: .*$a" "$OUT"; } || bad="$bad $a(-h)"
done <"$T/list"
expect_eq "every APPLET -x: one line 'unknown option -x', exit 2; -h: usage, exit 0" "" "$bad"

# --install: a link per applet under the names users type; each runs its applet
mkdir "$T/bin"
expect_rc "--install -s" 0 "$DIPUS" --install -s "$T/bin"
bad=""
while read -r a; do
	case $a in dcat|dls|dipusd) n=$a;; *) n=dipus-$a;; esac
	[ -L "$T/bin/$n" ] || { bad="$bad $n(missing)"; continue; }
	"$T/bin/$n" --help >"$T/h" 2>&1 || bad="$bad $n(rc)"
	grep -q "$a" "$T/h" || bad="$bad $n(usage)"
done <"$T/list"
expect_eq "--install links run their applets" "" "$bad"
expect_rc "--install twice replaces the links" 0 "$DIPUS" --install -s "$T/bin"
n=$(ls -A "$T/bin" | wc -l)
expect_eq "--install leaves exactly one link per applet" "$(wc -l <"$T/list")" "$n"

# argv[0] with and without the dipus- prefix
ln -s "$DIPUS" "$T/bin/dipus-dls"
ln -s "$DIPUS" "$T/bin/dipus-dcat"
run "$T/bin/dipus-dcat" --help
expect_grep "argv[0] dipus-dcat runs dcat" "dcat" "$OUT"
run "$T/bin/dls" --help
expect_grep "argv[0] dls runs dls" "dls" "$OUT"
ln -s "$DIPUS" "$T/bin/dipus"
run "$T/bin/dipus" --list
expect_eq "argv[0] dipus lists applets" "$(cat "$T/list")" "$(cat "$OUT")"

# --licenses: what a firmware vendor must pass on travels with the binary
"$DIPUS" --licenses >"$T/lic" 2>&1; rc=$?
expect_eq "--licenses exits 0" 0 "$rc"
# musl's notice only where musl is linked in (a glibc build, e.g. the sanitizer's, has none)
musl_notice=
ldd "$DIPUS" 2>/dev/null | grep -q 'libc\.so\.6' || musl_notice=Felker
for want in "MIT License" "the dipus authors" "Apache License, Version 2.0" \
	"share/licenses/dipus/mbedtls.txt" $musl_notice; do
	if grep -qF "$want" "$T/lic"; then pass "--licenses names '$want'"
	else fail "--licenses names '$want'" "not in the output"; fi
done
if grep -q '^CONFIG_SSH=y' "${DIPUS_CONFIG:-$TOP/.config}" 2>/dev/null; then
	if grep -qi 'dropbear' "$T/lic" && grep -qi 'libtomcrypt' "$T/lic"; then pass "--licenses has dropbear's notices"
	else fail "--licenses has dropbear's notices" "dropbear/libtomcrypt missing"; fi
fi
