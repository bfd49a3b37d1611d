# mk/fuzz.mk: "make fuzz": the SEP fuzz target (testsuite/fuzz/sep-fuzz.c) built with
# clang's libFuzzer, ASan and UBSan from the SEP engine's own sources, then run for
# FUZZ_SECONDS (default 60) from the checked-in seeds (testsuite/fuzz/corpus, never
# written) and a working corpus in build/fuzz/corpus, with testsuite/fuzz/sep.dict.
# Exits non-zero on a crash, a leak or a sanitizer report; the input that did it is
# left as build/fuzz/crash-* (replay: build/fuzz/sep-fuzz build/fuzz/crash-...).
# Then the mDNS target (testsuite/fuzz/mdns-fuzz.c: codec and responder/browser) the same
# way for MDNS_FUZZ_SECONDS (default 30), seeds in testsuite/fuzz/mdns-corpus.
# Needs clang and libFuzzer (Debian: clang, libclang-rt-dev).
#   make fuzz FUZZ_SECONDS=600 FUZZ_JOBS=4      longer, on 4 cores
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FB := build/fuzz
FUZZ_CC ?= clang
SRCS := testsuite/fuzz/sep-fuzz.c core/sep-session.c core/sep-frame.c core/loop.c core/util.c core/ns.c core/ns-walk.c core/ns-live.c core/names.c
FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
         -D_GNU_SOURCE -Icore -I$(FB)/include -std=c11 -Wall -Wextra -Wshadow -Werror -Wno-unused-parameter

.PHONY: fuzz-run fuzz-sep fuzz-mdns
fuzz-run: fuzz-sep fuzz-mdns
fuzz-sep: $(FB)/sep-fuzz
	@mkdir -p $(FB)/corpus
	$(FB)/sep-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
	    $(if $(filter-out 1,$(FUZZ_JOBS)),-fork=$(FUZZ_JOBS)) \
	    -dict=testsuite/fuzz/sep.dict -artifact_prefix=$(FB)/ -print_final_stats=1 \
	    $(FB)/corpus testsuite/fuzz/corpus

# FUZZ_FEATURES: the features defconfig's applets select (the Makefile's fuzz target passes
# them, as it does for every build); genconfig.sh rewrites the header only when it changes.
$(FB)/include/autoconf.h: FORCE
	@mkdir -p $(dir $@)
	sh scripts/genconfig.sh config/defconfig $@ $(FUZZ_FEATURES)
.PHONY: FORCE

$(FB)/sep-fuzz: $(SRCS) $(FB)/include/autoconf.h $(wildcard core/*.h) mk/fuzz.mk
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC) (Debian: clang, libclang-rt-dev)"; exit 2; }
	$(FUZZ_CC) $(FLAGS) -o $@ $(SRCS)

MDNS_FUZZ_SECONDS ?= 30
MDNS_SRCS := testsuite/fuzz/mdns-fuzz.c core/mdns-wire.c core/mdns-core.c
fuzz-mdns: $(FB)/mdns-fuzz
	@mkdir -p $(FB)/mdns-corpus
	$(FB)/mdns-fuzz -max_total_time=$(MDNS_FUZZ_SECONDS) -max_len=1500 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FB)/mdns- -print_final_stats=1 $(FB)/mdns-corpus testsuite/fuzz/mdns-corpus

$(FB)/mdns-fuzz: $(MDNS_SRCS) $(FB)/include/autoconf.h $(wildcard core/*.h) mk/fuzz.mk
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC) (Debian: clang, libclang-rt-dev)"; exit 2; }
	$(FUZZ_CC) $(FLAGS) -o $@ $(MDNS_SRCS)
