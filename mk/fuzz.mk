# mk/fuzz.mk: "make fuzz": the SEP fuzz target with clang's libFuzzer, ASan and UBSan,
# run for FUZZ_SECONDS (default 60) from the seed corpus in testsuite/fuzz/corpus.
# Non-zero exit on a crash; the crashing input is left in build/fuzz/.
FUZZ_SECONDS ?= 60
FB := build/fuzz
FUZZ_CC ?= clang
SRCS := testsuite/fuzz/sep-fuzz.c core/sep-session.c core/sep-frame.c core/loop.c core/util.c core/ns.c
FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
         -D_GNU_SOURCE -Icore -I$(FB)/include -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter

.PHONY: fuzz-run
fuzz-run: $(FB)/sep-fuzz
	@mkdir -p $(FB)/corpus
	$(FB)/sep-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	    -artifact_prefix=$(FB)/ -print_final_stats=1 $(FB)/corpus testsuite/fuzz/corpus

$(FB)/include/autoconf.h: config/defconfig scripts/genconfig.sh
	@mkdir -p $(dir $@)
	sh scripts/genconfig.sh config/defconfig $@

$(FB)/sep-fuzz: $(SRCS) $(FB)/include/autoconf.h $(wildcard core/*.h)
	$(FUZZ_CC) $(FLAGS) -o $@ $(SRCS)
