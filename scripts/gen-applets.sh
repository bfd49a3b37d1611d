#!/bin/sh
# gen-applets.sh OUTDIR CONFIG_SRC APPLET.c...: the applet table, Config.in and the
# Makefile's applet rules, from the blocks at the top of each applets/NAME.c
# (BusyBox-style; doc/internals.md "How to add an applet"):
#
#   //config:config NAME                      Kconfig entry, copied into Config.in
#   //config:	bool "name: one line"
#   //config:	default y
#   //config:	depends on TLS || SSH         optional: SYM, !, &&, ||, ( )
#   //config:	select NS_SERVER              optional: a feature of CONFIG_SRC this applet
#                                           turns on (a hidden one, never set by hand)
#   //config:	help                          optional
#   //config:	  text
#   //applet:APPLET(id, "name", PLAIN|PREFIXED, "summary")
#
# Writes, each only when its text changes (so make rebuilds nothing for nothing):
#   OUTDIR/applet_tables.h  APPLET(...) for each applet, under #if ENABLE_NAME, and
#                           APPLET_OFF(...) with the same arguments otherwise
#   OUTDIR/Config.in        CONFIG_SRC with the applets' entries at its "#APPLETS#" line
#   OUTDIR/applets.mk       APPLET_SYMS, APPLET_SRC_<SYM>, KNOWN_SYMS (features and
#                           applets), one check per "depends on", and per "select":
#                           SELECTABLE (every selected feature) and SELECTED (those a
#                           configured applet selects)
# A file without exactly one //config:config and one //applet: line, or whose applet
# name is not its file name, is an error naming the file. POSIX sh, sed and awk only.
set -eu
out=$1 src=$2
shift 2
mkdir -p "$out"
tmp=$out/.gen.$$
trap 'rm -f "$tmp".*' EXIT INT TERM

awk -v tmp="$tmp" -v src="$src" '
function fail(m) { print "scripts/gen-applets.sh: " m > "/dev/stderr"; bad = 1; exit 1 }
function finish(   b) {
	if (file == "") return
	b = file; sub(/.*\//, "", b); sub(/\.c$/, "", b)
	if (nsym != 1) fail(file ": needs exactly one //config:config line (has " nsym ")")
	if (napp != 1) fail(file ": needs exactly one //applet: line (has " napp ")")
	if (appname != b) fail(file ": //applet: names \"" appname "\", not the file name \"" b "\"")
	n++; SYM[n] = sym; FILE[n] = file; APP[n] = app; CFG[n] = cfg; DEP[n] = dep; SEL[n] = sel
}
# "depends on" expressions: tokens, then recursive descent into a make condition
# (non-empty when met) and a message text with CONFIG_ prefixes
function lex(s,   t) {
	ntok = 0; pos = 1
	while (s != "") {
		if (match(s, /^[ \t]+/)) { s = substr(s, RLENGTH + 1); continue }
		if (match(s, /^(\|\||&&|!|\(|\))/) || match(s, /^[A-Za-z0-9_]+/)) {
			tok[++ntok] = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1); continue
		}
		fail(cur ": depends on: cannot read \"" s "\" (use SYM, !, &&, ||, parentheses)")
	}
}
function peek() { return pos <= ntok ? tok[pos] : "" }
function p_or(   l, r) {
	l = p_and()
	while (peek() == "||") { pos++; r = p_and(); l = "$(or " l "," r ")" }
	return l
}
function p_and(   l, r) {
	l = p_not()
	while (peek() == "&&") { pos++; r = p_not(); l = "$(and " l "," r ")" }
	return l
}
function p_not(   t, x) {
	t = peek(); pos++
	if (t == "!") { x = p_not(); return "$(if " x ",,y)" }
	if (t == "(") { x = p_or(); if (peek() != ")") fail(cur ": depends on: missing )"); pos++; return x }
	if (t ~ /^[A-Za-z0-9_]+$/) { used[t] = 1; return "$(filter y,$(CONFIG_" t "))" }
	fail(cur ": depends on: unexpected \"" t "\"")
}
function msgtext(   i, m) {
	m = ""
	for (i = 1; i <= ntok; i++)
		m = m (m == "" || tok[i] == ")" || tok[i - 1] == "(" || tok[i - 1] == "!" ? "" : " ") \
		    (tok[i] ~ /^[A-Za-z0-9_]+$/ ? "CONFIG_" tok[i] : tok[i])
	return m
}
FNR == 1 { finish(); file = FILENAME; cur = file; nsym = 0; napp = 0; cfg = ""; dep = ""; sel = ""; sym = ""; app = "" }
/^\/\/config:/ {
	l = substr($0, 10)
	cfg = cfg l "\n"
	if (l ~ /^config[ \t]+[A-Za-z0-9_]+[ \t]*$/) { nsym++; sym = l; sub(/^config[ \t]+/, "", sym); sub(/[ \t]+$/, "", sym) }
	if (l ~ /^[ \t]*depends[ \t]+on[ \t]/) { d = l; sub(/^[ \t]*depends[ \t]+on[ \t]+/, "", d); dep = dep == "" ? d : "(" dep ") && (" d ")" }
	if (l ~ /^[ \t]*select[ \t]/) {
		x = l; sub(/^[ \t]*select[ \t]+/, "", x); sub(/[ \t]+$/, "", x)
		if (x !~ /^[A-Za-z0-9_]+$/) fail(file ": select: one symbol, not \"" x "\"")
		sel = sel " " x
	}
}
/^\/\/applet:/ {
	napp++; app = substr($0, 10)
	if (app !~ /^APPLET\([a-z0-9_]+, *"[a-z0-9-]+", *(PLAIN|PREFIXED), *".*"\)[ \t]*$/)
		fail(file ": //applet: line is not APPLET(id, \"name\", PLAIN|PREFIXED, \"summary\")")
	appname = app; sub(/^APPLET\([a-z0-9_]+, *"/, "", appname); sub(/".*/, "", appname)
}
END {
	if (bad) exit 1
	finish()
	if (bad) exit 1
	# features: the config symbols of CONFIG_SRC
	while ((getline l < src) > 0) {
		if (l ~ /^#APPLETS#/) { marker = 1; continue }
		if (l ~ /^[ \t]*(menu)?config[ \t]+[A-Za-z0-9_]+/) { s = l; sub(/^[ \t]*(menu)?config[ \t]+/, "", s); sub(/[ \t].*/, "", s); feat = feat " " s }
	}
	close(src)
	if (!marker) { cur = src; fail(src ": no #APPLETS# line to put the applets at") }

	h = tmp ".h"; mk = tmp ".mk"; ci = tmp ".in"
	print "/* applet_tables.h: generated by scripts/gen-applets.sh from the //applet: lines of" > h
	print " * each applets/NAME.c; do not edit. APPLET() when configured, APPLET_OFF() when not. */" > h
	print "# generated by scripts/gen-applets.sh from the //config: blocks of applets/*.c; do not edit" > mk
	syms = ""
	for (i = 1; i <= n; i++) {
		off = APP[i]; sub(/^APPLET\(/, "APPLET_OFF(", off)
		printf "#if ENABLE_%s\n%s\n#else\n%s\n#endif\n", SYM[i], APP[i], off > h
		syms = syms " " SYM[i]
		printf "APPLET_SRC_%s := %s\n", SYM[i], FILE[i] > mk
		if (DEP[i] != "") {
			cur = FILE[i]; lex(DEP[i]); c = p_or()
			if (pos <= ntok) fail(cur ": depends on: unexpected \"" tok[pos] "\"")
			printf "ifeq ($(CONFIG_%s),y)\nifeq (%s,)\n", SYM[i], c > mk
			printf "$(error $(CONFIG): CONFIG_%s=y depends on %s (%s) which this configuration does not meet)\n", SYM[i], msgtext(), FILE[i] > mk
			printf "endif\nendif\n" > mk
		}
		if (SEL[i] != "") {
			k = split(SEL[i], sl, " ")
			for (j = 1; j <= k; j++) selected[sl[j]] = selected[sl[j]] " " FILE[i]
			printf "SELECTABLE +=%s\nifeq ($(CONFIG_%s),y)\nSELECTED +=%s\nendif\n", SEL[i], SYM[i], SEL[i] > mk
		}
	}
	for (u in selected)
		if (index(" " feat " ", " " u " ") == 0) { cur = selected[u]; fail("select " u ": no such feature in " src) }
	for (u in used)
		if (index(" " feat " " syms " ", " " u " ") == 0) { cur = "applets"; fail("depends on " u ": no such feature in " src " nor applet") }
	printf "APPLET_SYMS :=%s\nKNOWN_SYMS :=%s%s\n", syms, feat, syms > mk

	print "# generated by scripts/gen-applets.sh from " src " and the //config: blocks of applets/*.c; do not edit" > ci
	while ((getline l < src) > 0) {
		if (l ~ /^#APPLETS#/) {
			for (i = 1; i <= n; i++) printf "# %s\n%s", FILE[i], CFG[i] > ci
			continue
		}
		print l > ci
	}
}' "$@"

for f in applet_tables.h:h applets.mk:mk Config.in:in; do
	name=${f%%:*} ext=${f##*:}
	if cmp -s "$tmp.$ext" "$out/$name" 2>/dev/null; then rm -f "$tmp.$ext"; else mv "$tmp.$ext" "$out/$name"; fi
done
