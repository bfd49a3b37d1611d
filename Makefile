# dipus: distributed IPC by proxying UNIX sockets. One static multicall binary.
#
#   make                  build ./dipus (static, musl-gcc, -Os) from .config
#                         (.config is created from config/defconfig if missing)
#   make defconfig        select the full configuration (every applet, TLS, SSH)
#   make tinyconfig       select the local-only configuration (no TLS, no SSH)
#   make CONFIG=FILE      build from another config file without touching .config
#   make CC=gcc           build with the host gcc and glibc (dynamic) instead
#   make sanitize         build build/gcc-san/dipus with ASan+UBSan (gcc, dynamic)
#   make demo             run the local demo (publish, list, pipe through) with ./dipus
#   make check            build and run the whole test suite (DIPUS=./dipus)
#   make check-sanitize   the whole suite against the ASan+UBSan build (bulk tests: 256 MiB)
#   make fuzz             build and run the SEP fuzz target for a bounded time
#   make size             sizes, and the split dipus / mbedTLS / dropbear / libc (link map)
#   make install DESTDIR=... PREFIX=/usr   binary in bin/, applet symlinks beside it
#   make clean / distclean                 distclean also removes fetched sources (dl/)
#   V=1                   show the commands

CONFIG   ?= .config
DL_DIR   ?= $(CURDIR)/dl
PREFIX   ?= /usr
DESTDIR  ?=
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)
export DL_DIR

ifeq ($(origin CC),default)
CC := musl-gcc
endif
AR      ?= ar
STRIP   ?= strip

ifeq ($(SANITIZE),1)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT_CFLAGS := -O1 -g
OUT        ?= $(BUILDDIR)/dipus
else
SAN_FLAGS  :=
OPT_CFLAGS := -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
OUT        ?= dipus
endif

confname := $(if $(filter .config,$(CONFIG)),,-$(basename $(notdir $(CONFIG))))
BUILDDIR ?= build/$(notdir $(firstword $(CC)))$(if $(SAN_FLAGS),-san)$(confname)

# The configuration decides what is compiled; .config appears from defconfig on first use.
ifeq ($(CONFIG),.config)
ifeq ($(wildcard .config),)
$(shell cp config/defconfig .config)
endif
endif
ifeq ($(wildcard $(CONFIG)),)
$(error config file $(CONFIG) not found)
endif
include $(CONFIG)

# An applet that needs a feature that is off is a configuration error, not a link error.
needs_tls := EXPORTER KEYGEN TRUST
needs_ssh := SSH_IMPORTER DBCLIENT
$(foreach a,$(needs_tls),$(if $(filter y,$(CONFIG_$(a))),$(if $(filter y,$(CONFIG_TLS)),,$(error $(CONFIG): CONFIG_$(a) needs CONFIG_TLS=y))))
$(foreach a,$(needs_ssh),$(if $(filter y,$(CONFIG_$(a))),$(if $(filter y,$(CONFIG_SSH)),,$(error $(CONFIG): CONFIG_$(a) needs CONFIG_SSH=y))))
needs_sep := IMPORT SERVE
$(foreach a,$(needs_sep),$(if $(filter y,$(CONFIG_$(a))),$(if $(filter y,$(CONFIG_TLS) $(CONFIG_SSH)),,$(error $(CONFIG): CONFIG_$(a) needs CONFIG_TLS=y or CONFIG_SSH=y))))

# SEP (the protocol engine) is needed by anything that talks to another host.
CONFIG_SEP := $(if $(filter y,$(CONFIG_TLS) $(CONFIG_SSH)),y,)

WARN_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS    := -D_GNU_SOURCE -I$(BUILDDIR)/include -Icore -Iapplets
ALL_CFLAGS   = $(WARN_CFLAGS) $(OPT_CFLAGS) $(SAN_FLAGS) $(CPPFLAGS) $(DEPS_CFLAGS) $(CFLAGS) -MMD -MP
ifeq ($(notdir $(firstword $(CC))),musl-gcc)
LINK_STATIC := -static
endif
ALL_LDFLAGS  = $(SAN_FLAGS) $(LINK_STATIC) $(if $(SAN_FLAGS),,-Wl,--gc-sections -Wl,-z,noseparate-code -Wl,--build-id=none) $(DEPS_LDFLAGS) $(LDFLAGS)

.DEFAULT_GOAL := all
ifneq ($(filter y,$(CONFIG_TLS) $(CONFIG_SSH)),)
include mk/deps.mk
endif

# Core: every core/*.c, except feature files (tls*, ssh*, sep*) whose feature is off.
core_feature = $(if $(filter tls%,$(1)),$(CONFIG_TLS),$(if $(filter ssh%,$(1)),$(CONFIG_SSH),$(if $(filter sep%,$(1)),$(CONFIG_SEP),y)))
CORE_SRCS := $(foreach f,$(sort $(wildcard core/*.c)),$(if $(filter y,$(call core_feature,$(notdir $(f)))),$(f)))

# Applets: applets/NAME.c is compiled only when CONFIG_NAME=y (dashes become underscores).
applet_sym = CONFIG_$(shell echo $(1) | tr 'a-z-' 'A-Z_')
APPLET_SRCS := applets/main.c $(foreach f,$(sort $(filter-out applets/main.c,$(wildcard applets/*.c))),$(if $(filter y,$($(call applet_sym,$(basename $(notdir $(f)))))),$(f)))

# Unit tests: testsuite/unit/*.c, gated like core files.
UNIT_SRCS := $(foreach f,$(sort $(wildcard testsuite/unit/*.c)),$(if $(filter y,$(call core_feature,$(notdir $(f)))),$(f)))

CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILDDIR)/%.o)
APPLET_OBJS := $(APPLET_SRCS:%.c=$(BUILDDIR)/%.o)
UNIT_BINS   := $(UNIT_SRCS:testsuite/unit/%.c=$(BUILDDIR)/unit/%)
LIBDIPUS    := $(BUILDDIR)/libdipus.a
AUTOCONF    := $(BUILDDIR)/include/autoconf.h

demo: $(OUT)
	sh scripts/demo.sh ./$(OUT)

.PHONY: demo all clean distclean defconfig tinyconfig menuconfig install check check-sanitize sanitize units fuzz help size
all: $(OUT)

help:
	@sed -n '2,18s/^# \{0,1\}//p' Makefile

$(AUTOCONF): $(CONFIG) scripts/genconfig.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/genconfig.sh $(CONFIG) $@

$(BUILDDIR)/%.o: %.c $(AUTOCONF) Makefile | $(DEPS_STAMPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBDIPUS): $(CORE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILDDIR)/dipus_unstripped: $(APPLET_OBJS) $(LIBDIPUS) $(DEPS_LIBS) $(AUTOCONF)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $(if $(SAN_FLAGS),,-Wl,-Map=$(BUILDDIR)/dipus.map) -o $@ $(APPLET_OBJS) $(LIBDIPUS) $(DEPS_LIBS)

$(OUT): $(BUILDDIR)/dipus_unstripped
ifeq ($(SAN_FLAGS),)
	$(Q)$(STRIP) -s -R .comment -o $@ $<
else
	$(Q)cp $< $@
endif
	@$(if $(Q),echo "  BUILT   $@ ($$(wc -c <$@) bytes)")

$(BUILDDIR)/unit/%: $(BUILDDIR)/testsuite/unit/%.o $(LIBDIPUS) $(DEPS_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBDIPUS) $(DEPS_LIBS)

units: $(UNIT_BINS)

defconfig:
	cp config/defconfig .config
tinyconfig:
	cp config/tiny.config .config
menuconfig:
	@command -v kconfig-mconf >/dev/null || { echo "menuconfig needs kconfig-mconf (Debian kconfig-frontends); edit .config instead"; exit 2; }
	KCONFIG_CONFIG=.config kconfig-mconf config/Config.in

size: $(OUT)
	@size $(BUILDDIR)/dipus_unstripped; ls -l $(OUT)
	@sh scripts/size-split.sh $(BUILDDIR)/dipus.map

install: $(OUT)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(OUT) $(DESTDIR)$(PREFIX)/bin/dipus
	$(DESTDIR)$(PREFIX)/bin/dipus --install -s $(DESTDIR)$(PREFIX)/bin

# The whole suite: one runner, C unit tests and end-to-end scripts alike.
check: $(OUT) units
	DIPUS=$(CURDIR)/$(OUT) DIPUS_CONFIG=$(CURDIR)/$(CONFIG) UNIT_DIR=$(CURDIR)/$(BUILDDIR)/unit sh testsuite/run $(TESTS)

sanitize:
	$(MAKE) SANITIZE=1 CC=gcc

# The same suite against the ASan+UBSan build; bulk-data tests move 256 MiB instead of
# 1 GiB there (sanitized copies are slower; the code paths are the same). ASan keeps
# freed blocks in a quarantine (256 MiB by default) to catch use after free; that is
# resident memory of ASan's, not ours, and the tests that bound RSS (sep-many: 64 MiB
# with 200 busy channels) would count it, so it is 16 MiB here: recent frees are still
# caught. Set ASAN_OPTIONS to override.
check-sanitize:
	ASAN_OPTIONS=$${ASAN_OPTIONS:-quarantine_size_mb=16} \
	DIPUS_TEST_BIG=268435456 SEP_DATA_BYTES=268435456 $(MAKE) SANITIZE=1 CC=gcc check

fuzz:
	$(MAKE) -f mk/fuzz.mk

clean:
	if [ -d build ]; then find build -mindepth 1 -maxdepth 1 ! -name src -exec rm -rf {} +; fi
	rm -f dipus
	@# keep build/src (verified, extracted sources)

distclean:
	rm -rf build dl dipus dipus-san .config

-include $(CORE_OBJS:.o=.d) $(APPLET_OBJS:.o=.d) $(UNIT_SRCS:testsuite/unit/%.c=$(BUILDDIR)/testsuite/unit/%.d)
