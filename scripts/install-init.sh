#!/bin/sh
# install-init.sh INIT DESTDIR PREFIX: install dipusd's init integration (make install
# INIT=...) and the example configuration (never over an existing dipusd.conf).
set -eu
init=$1 dest=$2 prefix=$3
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$prefix/bin/dipusd
case $init in
sysv)
	install -d "$dest/etc/init.d"
	sed "s|^DAEMON=.*|DAEMON=$bin|" "$top/support/init/S50dipusd" >"$dest/etc/init.d/S50dipusd"
	chmod 0755 "$dest/etc/init.d/S50dipusd" ;;
procd)
	install -d "$dest/etc/init.d"
	sed "s|^PROG=.*|PROG=$bin|" "$top/support/init/dipusd.procd" >"$dest/etc/init.d/dipusd"
	chmod 0755 "$dest/etc/init.d/dipusd" ;;
systemd)
	unit=${SYSTEMD_UNIT_DIR:-/lib/systemd/system}
	install -d "$dest$unit"
	sed "s|/usr/bin/dipusd|$bin|" "$top/support/init/dipusd.service" >"$dest$unit/dipusd.service"
	chmod 0644 "$dest$unit/dipusd.service" ;;
*)
	echo "make install: INIT=$init: expected sysv, procd or systemd" >&2
	exit 2 ;;
esac
install -d -m 0700 "$dest/etc/dipus"
[ -e "$dest/etc/dipus/dipusd.conf.example" ] || install -m 0644 "$top/config/dipusd.conf.example" "$dest/etc/dipus/dipusd.conf.example"
echo "installed dipusd for $init; configuration: /etc/dipus/dipusd.conf (see dipusd.conf.example)"
