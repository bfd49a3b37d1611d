# data.sh: 1 GiB through a cat service, SHA-256 equal both ways.
# timeout: 300
. "$TOP/testsuite/lib.sh"
setup_host data
SIZE=${DIPUS_TEST_BIG:-1073741824}

spawn "$DIPUS" local-pipe -1 cat cat >"$T/ready"
wait_for 5 test -s "$T/ready" || fail "cat service" "did not come up"
# a deterministic 1 GiB stream, hashed on both sides without touching the disk
gen() { head -c "$SIZE" /dev/zero | openssl enc -aes-128-ctr -K 00112233445566778899aabbccddeeff -iv 0 -nosalt 2>/dev/null || head -c "$SIZE" /dev/urandom; }
want=$(gen | sha256sum | cut -d' ' -f1)
got=$(gen | "$DIPUS" dcat cat | sha256sum | cut -d' ' -f1)
expect_eq "$SIZE bytes through a cat service, SHA-256 equal" "$want" "$got"
got=$(gen | "$DIPUS" dcat cat | wc -c)
expect_eq "every byte came back" "$SIZE" "$got"
