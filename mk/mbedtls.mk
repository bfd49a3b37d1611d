# mk/mbedtls.mk: compile mbedTLS's library/*.c into one archive (run by mk/deps.mk
# as a sub-make once the sources are extracted, so the file list is known).
SRCS := $(sort $(wildcard $(SRC)/library/*.c))
OBJS := $(SRCS:$(SRC)/library/%.c=$(OUT)/%.o)

$(OUT)/libmbedtls.a: $(OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $(OBJS)

$(OUT)/%.o: $(SRC)/library/%.c config/mbedtls_config.h
	@mkdir -p $(OUT)
	@$(if $(Q),echo "  CC      mbedtls/$*.c")
	$(Q)$(CC) $(CFLAGS) -I$(SRC)/include -I$(SRC)/library -Iconfig \
	    -DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"' -c -o $@ $<
