#!/bin/sh
# size-split.sh MAP: what each part contributes to the linked binary, from the GNU ld
# map that "make" writes beside dipus_unstripped (build/*/dipus.map). Counts the input
# sections kept in the loaded, file-backed output sections (.text, .rodata, .data and
# the like; not .bss, which takes no file space) and sums them by origin:
#   dipus (applets/ and libdipus.a), mbedTLS (libmbedtls.a), dropbear (dbclient.o),
#   libc (libc.a and the compiler's runtime), other.
# Prints bytes and shares; "make size" runs it.
set -eu
map=${1:?usage: size-split.sh build/DIR/dipus.map}
[ -r "$map" ] || { echo "size-split.sh: $map: no linker map (run make first)" >&2; exit 2; }
awk '
function origin(f) {
	if (f ~ /libmbedtls\.a/) return "mbedTLS"
	if (f ~ /dbclient\.o/) return "dropbear"
	if (f ~ /libdipus\.a/ || f ~ /\/applets\//) return "dipus"
	if (f ~ /libc\.a|libgcc|crt[0-9a-z]*\.o/) return "libc"
	return "other"
}
function hex(s,   i, v) {  # "0x1f" -> 31 (mawk has no strtonum)
	v = 0
	s = tolower(substr(s, 3))
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
function add(sz, f) { if (keep && f != "") { sum[origin(f)] += hex(sz) } }
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
# an output section: ".text 0x... 0x..." at column 0
/^\.[A-Za-z_.]/ {
	name = $1
	keep = (name ~ /^\.(text|rodata|data|init|fini|init_array|fini_array|ctors|dtors|data\.rel\.ro|eh_frame|gcc_except_table|tdata)/) && name !~ /^\.tbss|^\.bss/
	pending = ""
	next
}
# an input section on one line: " .text.foo 0xADDR 0xSIZE file"
/^ \.[^ ]+ +0x[0-9a-f]+ +0x[0-9a-f]+ / { add($3, $4); pending = ""; next }
# a long input section name wraps: the address, size and file on the next line
/^ \.[^ ]+$/ { pending = $1; next }
pending != "" && /^ +0x[0-9a-f]+ +0x[0-9a-f]+ / { add($2, $3); pending = ""; next }
END {
	total = 0
	for (k in sum) total += sum[k]
	n = split("dipus mbedTLS dropbear libc other", order, " ")
	for (i = 1; i <= n; i++) {
		k = order[i]
		if (sum[k] > 0)
			printf "  %-9s %8d bytes  %5.1f%%\n", k, sum[k], 100 * sum[k] / total
	}
	printf "  %-9s %8d bytes  (loaded sections before stripping; the file adds headers and padding)\n", "total", total
}' "$map"
