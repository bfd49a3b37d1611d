# dipus: distributed IPC by proxying UNIX sockets. One static multicall binary.
#
#   make                  build ./dipus (static, musl-gcc, -Os) from .config
#                         (.config is created from config/defconfig if missing)
#   make defconfig        select the full configuration (every applet, TLS, SSH)
#   make tinyconfig       select the local-only configuration (no TLS, no SSH)
#   make CONFIG=FILE      build from another config file without touching .config
#   make CC=gcc           build with the host gcc and glibc (dynamic) instead
#   make CROSS=ARCH       cross build (aarch64 armhf mipsel mips riscv64; LIBC=glibc too)
#                         into build/<triplet>-gcc/dipus (scripts/cross-toolchains.sh)
#   STATIC=0|1 WERROR=0|1 static link (default: musl toolchains), -Werror (default 1)
#   make sanitize         build build/gcc-san/dipus with ASan+UBSan (gcc, dynamic)
#   make demo             run the local demo (publish, list, pipe through) with ./dipus
#   make check            build and run the whole test suite (DIPUS=./dipus)
#   make check-sanitize   the whole suite against the ASan+UBSan build (bulk tests: 256 MiB)
#   make fuzz             build and run the SEP and mDNS fuzz targets for a bounded time
#   make size             sizes, and the split dipus / mbedTLS / dropbear / libc (link map)
#   make install DESTDIR=... PREFIX=/usr   binary in bin/, applet symlinks beside it,
#                         licences in share/licenses/dipus/
#                         INIT=sysv|procd|systemd also installs dipusd's init script
#   make clean / distclean                 distclean also removes fetched sources (dl/)
#   V=1                   show the commands

CONFIG   ?= .config
DL_DIR   ?= $(CURDIR)/dl
PREFIX   ?= /usr
DESTDIR  ?=
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)
export DL_DIR

# Cross builds: CROSS=ARCH picks the toolchain scripts/cross-toolchains.sh sets up
# under build/cross/ (musl wrappers), or Debian's glibc cross gcc with LIBC=glibc.
CROSS   ?=
LIBC    ?= musl
cross_musl_aarch64 := aarch64-linux-musl
cross_musl_armhf   := arm-linux-musleabihf
cross_musl_mipsel  := mipsel-linux-musl
cross_musl_mips    := mips-linux-musl
cross_musl_riscv64 := riscv64-linux-musl
cross_glibc_aarch64 := aarch64-linux-gnu
cross_glibc_armhf   := arm-linux-gnueabihf
cross_glibc_mipsel  := mipsel-linux-gnu
cross_glibc_mips    := mips-linux-gnu
cross_glibc_riscv64 := riscv64-linux-gnu
ifneq ($(CROSS),)
CROSS_TRIPLET := $(cross_$(LIBC)_$(CROSS))
ifeq ($(CROSS_TRIPLET),)
$(error CROSS=$(CROSS) LIBC=$(LIBC): unknown (CROSS: aarch64 armhf mipsel mips riscv64; LIBC: musl glibc))
endif
CC := $(if $(filter musl,$(LIBC)),$(CURDIR)/build/cross/bin/)$(CROSS_TRIPLET)-gcc
ifeq ($(shell command -v $(CC) 2>/dev/null),)
$(error CROSS=$(CROSS) LIBC=$(LIBC): no $(CC): run scripts/cross-toolchains.sh $(CROSS) (doc/build.md))
endif
# a cross binary goes beside its objects, not over the native ./dipus
OUT ?= $(BUILDDIR)/dipus
else ifeq ($(origin CC),default)
CC := musl-gcc
endif
# The binutils that belong to CC (a cross gcc knows its own), unless given.
tool_of = $(or $(shell $(CC) -print-prog-name=$(1) 2>/dev/null),$(1))
# A tool set on the command line or in the environment wins; make's own defaults
# (AR=ar) do not.
$(foreach t,AR:ar LD:ld NM:nm OBJCOPY:objcopy STRIP:strip RANLIB:ranlib,\
  $(if $(filter default undefined,$(origin $(firstword $(subst :, ,$(t))))),\
    $(eval $(firstword $(subst :, ,$(t))) := $(call tool_of,$(lastword $(subst :, ,$(t)))))))
# Static by default with a musl toolchain (musl-gcc, *-linux-musl*-gcc, or a gcc whose
# target is musl, e.g. Buildroot's); glibc builds are dynamic unless STATIC=1.
CC_MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
STATIC  ?= $(if $(findstring musl,$(notdir $(firstword $(CC))) $(CC_MACHINE)),1,0)
# -Werror where the project controls the compiler; a firmware build (Buildroot, another
# gcc) passes WERROR=0 so a newer compiler's new warning does not stop it.
WERROR  ?= 1

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
# make defconfig/tinyconfig/menuconfig/clean must work whatever a stale .config says:
# for those goals alone the configuration is not read, so it cannot stop them.
CONFIG_GOALS := defconfig tinyconfig menuconfig clean distclean help
ifeq ($(if $(MAKECMDGOALS),$(filter-out $(CONFIG_GOALS),$(MAKECMDGOALS)),all),)
CONFIG_READ := 0
else
CONFIG_READ := 1
include $(CONFIG)
endif

# The applets describe themselves: the //config: and //applet: block at the top of each
# applets/NAME.c. scripts/gen-applets.sh makes, on every run of make (it rewrites only
# what changed), the applet table, Config.in, and applets.mk: each applet's file and
# symbol, and its "depends on" as a configuration error (doc/internals.md).
GEN := build/gen
gen_err := $(shell sh scripts/gen-applets.sh $(GEN) config/Config.src $(filter-out applets/main.c,$(sort $(wildcard applets/*.c))) 2>&1 || echo "scripts/gen-applets.sh failed")
$(if $(gen_err),$(error $(gen_err)))
include $(GEN)/applets.mk
# A symbol set in the configuration that no applet file or feature declares (a
# configured applet whose file is missing, a misspelling) is a configuration error.
$(foreach s,$(if $(filter 1,$(CONFIG_READ)),$(shell sed -n 's/^CONFIG_\([A-Za-z0-9_]*\)=.*/\1/p' $(CONFIG))),$(if $(filter $(s),$(KNOWN_SYMS)),,$(error $(CONFIG): CONFIG_$(s) is set but no applets/*.c declares '//config:config $(s)' and config/Config.src has no such feature)))

# SEP (the protocol engine) is needed by anything that talks to another host.
CONFIG_SEP := $(if $(filter y,$(CONFIG_TLS) $(CONFIG_SSH)),y,)

WARN_CFLAGS := -std=c11 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Wshadow -Wno-unused-parameter
# the user's CPPFLAGS/CFLAGS/LDFLAGS come after ours, never instead of them
DIPUS_CPPFLAGS := -D_GNU_SOURCE -I$(BUILDDIR)/include -Icore
ALL_CFLAGS   = $(WARN_CFLAGS) $(OPT_CFLAGS) $(SAN_FLAGS) $(DIPUS_CPPFLAGS) $(APPLET_CPPFLAGS) $(DEPS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
ifeq ($(STATIC)$(SAN_FLAGS),1)
LINK_STATIC := -static
# musl applies PT_GNU_RELRO only in its dynamic linker, so in a static musl binary the
# RELRO page alignment is nothing but padding (about 4 KB of file)
ifneq ($(findstring musl,$(notdir $(firstword $(CC))) $(CC_MACHINE)),)
LINK_STATIC += -Wl,-z,norelro
endif
endif
ALL_LDFLAGS  = $(SAN_FLAGS) $(LINK_STATIC) $(if $(SAN_FLAGS),,-Wl,--gc-sections -Wl,-z,noseparate-code -Wl,--build-id=none) $(DEPS_LDFLAGS) $(LDFLAGS)

.DEFAULT_GOAL := all
ifneq ($(filter y,$(CONFIG_TLS) $(CONFIG_SSH)),)
include mk/deps.mk
endif

# Core: every core/*.c, except feature files (tls*, ssh*, sep*, mdns*) whose feature is off.
# (ssh-chachapoly.c serves TLS's ChaCha20-Poly1305 too: core/tls-chachapoly.c)
core_feature = $(if $(filter ssh-chachapoly.c,$(1)),$(CONFIG_SEP),$(if $(filter tls%,$(1)),$(CONFIG_TLS),$(if $(filter ssh%,$(1)),$(CONFIG_SSH),$(if $(filter sep%,$(1)),$(CONFIG_SEP),$(if $(filter mdns%,$(1)),$(CONFIG_DISCOVERY),y)))))
CORE_SRCS := $(foreach f,$(sort $(wildcard core/*.c)),$(if $(filter y,$(call core_feature,$(notdir $(f)))),$(f)))

# Applets: each applet's file is compiled when its symbol (its //config:config) is y.
APPLET_SRCS := applets/main.c $(foreach s,$(APPLET_SYMS),$(if $(filter y,$(CONFIG_$(s))),$(APPLET_SRC_$(s))))

# Unit tests: testsuite/unit/*.c, gated like core files.
UNIT_SRCS := $(foreach f,$(sort $(wildcard testsuite/unit/*.c)),$(if $(filter y,$(call core_feature,$(notdir $(f)))),$(f)))

CORE_OBJS   := $(CORE_SRCS:%.c=$(BUILDDIR)/%.o)
APPLET_OBJS := $(APPLET_SRCS:%.c=$(BUILDDIR)/%.o)
# Only applets see the applets' headers and the table: core never includes an applet.
$(APPLET_OBJS): APPLET_CPPFLAGS := -Iapplets -I$(GEN)
UNIT_BINS   := $(UNIT_SRCS:testsuite/unit/%.c=$(BUILDDIR)/unit/%)
LIBDIPUS    := $(BUILDDIR)/libdipus.a
AUTOCONF    := $(BUILDDIR)/include/autoconf.h

demo: $(OUT)
	sh scripts/demo.sh ./$(OUT)

PHONY_X := outpath dist
.PHONY: $(PHONY_X) demo all clean distclean defconfig tinyconfig menuconfig install check check-sanitize sanitize units fuzz help size
all: $(OUT)

help:
	@sed -n '2,18s/^# \{0,1\}//p' Makefile

# features the configured applets select (//config: select, gen-applets.sh) are on
$(foreach s,$(sort $(SELECTED)),$(eval CONFIG_$(s) := y))
$(AUTOCONF): $(CONFIG) scripts/genconfig.sh $(GEN)/applets.mk
	@mkdir -p $(dir $@)
	$(Q)sh scripts/genconfig.sh $(CONFIG) $@ $(foreach s,$(sort $(SELECTABLE)),$(s)=$(CONFIG_$(s)))

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
	@# strip a copy in place: STRIP=/bin/true (Buildroot's BR2_STRIP_none) keeps it whole
	$(Q)cp $< $@.tmp && $(STRIP) -s -R .comment $@.tmp && mv -f $@.tmp $@
else
	$(Q)cp $< $@
endif
	@$(if $(Q),echo "  BUILT   $@ ($$(wc -c <$@) bytes)")

$(BUILDDIR)/unit/%: $(BUILDDIR)/testsuite/unit/%.o $(LIBDIPUS) $(DEPS_LIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBDIPUS) $(DEPS_LIBS)

units: $(UNIT_BINS)

# dipus --licenses: the licence texts as C strings (core/licenses.c). make install
# installs the full texts (LICENSE_FILES); the binary carries LICENSES/brief/NAME.txt
# instead where one exists (the notice each licence requires to travel with the binary
# and where the full text is installed), which keeps the default binary under 600 KiB.
LICENSE_FILES := LICENSE $(sort $(wildcard LICENSES/*.txt))
LICENSE_EMBED := $(foreach f,$(LICENSE_FILES),$(or $(wildcard LICENSES/brief/$(notdir $(f))),$(f)))
$(BUILDDIR)/include/licenses.inc: $(LICENSE_EMBED) scripts/licenses.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/licenses.sh $@ $(LICENSE_EMBED)
$(BUILDDIR)/core/licenses.o: $(BUILDDIR)/include/licenses.inc

outpath:
	@echo $(OUT)

# A source archive of the tracked files as they are (Buildroot's DIPUS_SITE, support/buildroot)
DIST_VER = $(shell sed -n 's/^\#define DIPUS_VERSION "\(.*\)"/\1/p' core/util.h)
dist:
	@mkdir -p build/dist
	$(Q)git ls-files -z | xargs -0 tar --transform 's,^,dipus-$(DIST_VER)/,' -czf build/dist/.dipus-$(DIST_VER).tar.gz
	$(Q)mv build/dist/.dipus-$(DIST_VER).tar.gz build/dist/dipus-$(DIST_VER).tar.gz
	@echo "  DIST    build/dist/dipus-$(DIST_VER).tar.gz"

defconfig:
	cp config/defconfig .config
tinyconfig:
	cp config/tiny.config .config
menuconfig:
	@command -v kconfig-mconf >/dev/null || { echo "menuconfig needs kconfig-mconf (Debian kconfig-frontends); edit .config instead"; exit 2; }
	KCONFIG_CONFIG=.config kconfig-mconf $(GEN)/Config.in

size: $(OUT)
	@size $(BUILDDIR)/dipus_unstripped; ls -l $(OUT)
	@sh scripts/size-split.sh $(BUILDDIR)/dipus.map

# The link names come from the //applet: lines and the config, read on the host (the
# binary may be for another CPU): scripts/install-links.sh.
install: $(OUT)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(OUT) $(DESTDIR)$(PREFIX)/bin/dipus
	$(Q)sh scripts/install-links.sh $(CONFIG) $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/share/licenses/dipus && install -m 0644 $(LICENSE_FILES) $(DESTDIR)$(PREFIX)/share/licenses/dipus/
	$(if $(INIT),@sh scripts/install-init.sh "$(INIT)" "$(DESTDIR)" "$(PREFIX)")

# The whole suite: one runner, C unit tests and end-to-end scripts alike.
# With CROSS=, the target's static binary and unit tests run under qemu-user (binfmt_misc,
# scripts/cross-toolchains.sh --binfmt): 64 MiB bulk data, four times the time limits;
# CROSS_CC lets a test build a probe of what the emulator lacks (lib.sh's skip_emulator).
CROSS_CHECK_ENV = $(if $(CROSS),DIPUS_TEST_BIG=$${DIPUS_TEST_BIG:-67108864} SEP_DATA_BYTES=$${SEP_DATA_BYTES:-67108864} \
                  TEST_TIMEOUT_SCALE=$${TEST_TIMEOUT_SCALE:-4} CROSS_CC='$(CC)')
check: $(OUT) units
	MAKEFLAGS="$${MAKEFLAGS%% -- *}" $(CROSS_CHECK_ENV) DIPUS=$(CURDIR)/$(OUT) DIPUS_CONFIG=$(CURDIR)/$(CONFIG) UNIT_DIR=$(CURDIR)/$(BUILDDIR)/unit sh testsuite/run $(TESTS)

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

# The fuzz targets are built from config/defconfig, with the features its applets select
# (as $(AUTOCONF) is): make works that list out with CONFIG=config/defconfig.
ifeq ($(CONFIG),config/defconfig)
fuzz:
	$(MAKE) -f mk/fuzz.mk FUZZ_FEATURES="$(foreach s,$(sort $(SELECTABLE)),$(s)=$(CONFIG_$(s)))"
else
fuzz:
	$(MAKE) CONFIG=config/defconfig fuzz
endif

clean:
	if [ -d build ]; then find build -mindepth 1 -maxdepth 1 ! -name src -exec rm -rf {} +; fi
	rm -f dipus
	@# keep build/src (verified, extracted sources)

distclean:
	rm -rf build dl dipus dipus-san .config

-include $(CORE_OBJS:.o=.d) $(APPLET_OBJS:.o=.d) $(UNIT_SRCS:testsuite/unit/%.c=$(BUILDDIR)/testsuite/unit/%.d)
