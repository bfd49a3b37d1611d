# mk/mbedtls.mk: compile mbedTLS's library/*.c into one archive (run by mk/deps.mk
# as a sub-make once the sources are extracted, so the file list is known).
SRCS := $(sort $(wildcard $(SRC)/library/*.c))
OBJS := $(SRCS:$(SRC)/library/%.c=$(OUT)/%.o)

$(OUT)/libmbedtls.a: $(OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $(OBJS)

# The bulk-data path (AES, GCM, the AES-NI/AESCE glue) is built for speed, the rest
# for size: -O2 there is +40% AES-128-GCM throughput for about 6 KiB (doc/build.md).
# On x86_64 the AES-NI module is built with its intrinsics (faster GCM than its inline
# assembly); it is only entered when cpuid says the CPU has AES-NI and PCLMULQDQ.
HOT_CFLAGS := $(if $(filter -Os,$(CFLAGS)),-O2)
$(OUT)/aes.o $(OUT)/gcm.o $(OUT)/aesce.o: FILE_CFLAGS := $(HOT_CFLAGS)
ifneq ($(filter x86_64-%,$(shell $(CC) -dumpmachine 2>/dev/null)),)
$(OUT)/aesni.o: FILE_CFLAGS := $(HOT_CFLAGS) -maes -mpclmul
endif

$(OUT)/%.o: $(SRC)/library/%.c config/dipus_mbedtls_config.h
	@mkdir -p $(OUT)
	@$(if $(Q),echo "  CC      mbedtls/$*.c")
	$(Q)$(CC) $(CFLAGS) $(FILE_CFLAGS) -I$(SRC)/include -I$(SRC)/library -Iconfig \
	    -DMBEDTLS_CONFIG_FILE='"dipus_mbedtls_config.h"' -c -o $@ $<
