# mk/deps.mk: the pinned dependencies, included by the Makefile when TLS or SSH is on.
#
# Sources are verified (scripts/fetch-deps.sh, scripts/deps/*.hash) before they are
# extracted once into build/src/, then compiled per build flavour ($(BUILDDIR)) with
# the same CC and flags as dipus:
#   mbedTLS  -> $(BUILDDIR)/mbedtls/libmbedtls.a  with config/dipus_mbedtls_config.h
#   dropbear -> $(BUILDDIR)/dropbear/dbclient.o    its client, partially linked (ld -r)
#               with libtomcrypt/libtommath and dbclient/alloc.o, core/ssh-chachapoly.o,
#               every global but cli_main renamed dipus_db_*, so it cannot collide
#               with mbedTLS or dipus.
# Sub-makes run with MAKEFLAGS cut before its " -- ": our command-line variables
# (CC=, CPPFLAGS=, CROSS=...) never leak into them, the jobserver still does.

MBEDTLS_VER  := 3.6.6
DROPBEAR_VER := 2025.89
DEPS_SRC     := build/src
MBEDTLS_SRC  := $(DEPS_SRC)/mbedtls-$(MBEDTLS_VER)
DROPBEAR_SRC := $(DEPS_SRC)/dropbear-$(DROPBEAR_VER)
DEP_CFLAGS    = $(OPT_CFLAGS) $(SAN_FLAGS) -w $(CFLAGS)
SUBMAKE       = MAKEFLAGS="$${MAKEFLAGS%% -- *}" $(MAKE)

# fetch (or reuse) + verify, then extract under a temporary name and rename into place
$(DEPS_SRC)/.%.stamp: scripts/deps/%.hash scripts/fetch-deps.sh
	$(Q)sh scripts/fetch-deps.sh --dl-dir $(DL_DIR) $*
	@mkdir -p $(DEPS_SRC)
	@$(if $(Q),echo "  EXTRACT $*")
	$(Q)set -e; d=$$(sed -n 's/^sha256 *[0-9a-f]* *\(.*\)\.orig\.tar\.bz2$$/\1/p' scripts/deps/$*.hash | tr _ -); \
	  rm -rf $(DEPS_SRC)/$$d $(DEPS_SRC)/.$$d.tmp; mkdir $(DEPS_SRC)/.$$d.tmp; \
	  tar -xjf $(DL_DIR)/$$(sed -n 's/^sha256 *[0-9a-f]* *//p' scripts/deps/$*.hash) \
	      -C $(DEPS_SRC)/.$$d.tmp --strip-components=1; \
	  mv $(DEPS_SRC)/.$$d.tmp $(DEPS_SRC)/$$d
	$(Q)touch $@

DEPS_CFLAGS :=
DEPS_LIBS   :=
DEPS_STAMPS :=
DEPS_LDFLAGS :=

ifeq ($(CONFIG_TLS),y)
MBEDTLS_LIB := $(BUILDDIR)/mbedtls/libmbedtls.a
DEPS_CFLAGS += -isystem $(MBEDTLS_SRC)/include -Iconfig \
               -DMBEDTLS_CONFIG_FILE='"dipus_mbedtls_config.h"' -DDIPUS_MBEDTLS_VERSION='"$(MBEDTLS_VER)"'
DEPS_LIBS   += $(MBEDTLS_LIB)
# TLS records' AES-GCM goes through core/tls-gcm.c (its header says why); -u pulls it
# out of libdipus.a before mbedTLS's archive, whose PSA layer is what calls it.
GCM_WRAP     := mbedtls_gcm_crypt_and_tag mbedtls_gcm_auth_decrypt
GCM_WRAP     += mbedtls_chachapoly_encrypt_and_tag mbedtls_chachapoly_auth_decrypt  # core/tls-chachapoly.c
DEPS_LDFLAGS += $(foreach f,$(GCM_WRAP),-Wl,--wrap=$(f) -Wl,-u,__wrap_$(f))
DEPS_LDFLAGS += -Wl,-u,dipus_tls_calloc -Wl,-u,dipus_tls_free  # core/tls-mem.c, called by mbedTLS only
DEPS_STAMPS += $(DEPS_SRC)/.mbedtls.stamp

$(MBEDTLS_LIB): $(DEPS_SRC)/.mbedtls.stamp config/dipus_mbedtls_config.h mk/mbedtls.mk
	+$(Q)$(SUBMAKE) -f mk/mbedtls.mk Q='$(Q)' CC='$(CC)' AR='$(AR)' \
	    SRC=$(MBEDTLS_SRC) OUT=$(BUILDDIR)/mbedtls CFLAGS='$(DEP_CFLAGS)'
endif

ifeq ($(CONFIG_SSH),y)
DROPBEAR_OBJ := $(BUILDDIR)/dropbear/dbclient.o
DEPS_CFLAGS  += -DDIPUS_DROPBEAR_VERSION='"$(DROPBEAR_VER)"'
DEPS_LIBS    += $(DROPBEAR_OBJ)
DB_TREE       = $(BUILDDIR)/dropbear/tree
DB_CONFIGURE  = --disable-zlib --disable-pam --disable-syslog --disable-lastlog \
                --disable-utmp --disable-utmpx --disable-wtmp --disable-wtmpx \
                --disable-loginfunc --disable-pututline --disable-pututxline \
                --disable-harden --enable-bundled-libtom

# dropbear proper, built in a copy of its tree, with files of ours put in: the
# configuration config/dropbear_localoptions.h (what is built), and dbclient/, the
# embedded client's own code: chachapoly.c/.h, whose cipher computes with
# core/ssh-chachapoly.c (libtomcrypt's ChaCha20-Poly1305 was the bulk-transfer bottleneck);
# cli-dipusmux.c, direct-streamlocal channels on request of the parent (core/ssh.c), with
# dipusmux.h, the mux wire both include, hooked in by dipusmux.patch (applied to the copy,
# Buildroot-style). Its malloc family is renamed to dbclient/alloc.c's, which keeps
# freed packet buffers for reuse (musl unmaps every ~35 KB packet buffer on free).
DB_ALL        = $(BUILDDIR)/dropbear/dbclient-all.o
DB_OWN        = $(BUILDDIR)/dbclient/alloc.o $(BUILDDIR)/core/ssh-chachapoly.o
DB_MALLOC     = malloc calloc realloc free
# configure's --host from the compiler itself (a cross build cannot run its test programs)
DB_HOST       = $(shell $(CC) -dumpmachine)
DB_LDFLAGS    = $(SAN_FLAGS) $(LINK_STATIC) $(LDFLAGS)

# (dropbearmulti is linked only to see that nothing is missing: it needs ssh-chachapoly.o
# to exist, not to be rebuilt for)

DB_FILES      = chachapoly.c chachapoly.h cli-dipusmux.c dipusmux.h
$(DB_ALL): $(DEPS_SRC)/.dropbear.stamp config/dropbear_localoptions.h $(DB_FILES:%=dbclient/%) \
           core/ssh-chachapoly.h dbclient/dipusmux.patch mk/deps.mk | $(BUILDDIR)/core/ssh-chachapoly.o
	@$(if $(Q),echo "  DROPBEAR $(BUILDDIR)/dropbear (configure, make, ld -r)")
	$(Q)rm -rf $(DB_TREE) && mkdir -p $(BUILDDIR)/dropbear && cp -a $(DROPBEAR_SRC) $(DB_TREE)
	$(Q)cp config/dropbear_localoptions.h $(DB_TREE)/localoptions.h
	$(Q)cp $(DB_FILES:%=dbclient/%) core/ssh-chachapoly.h $(DB_TREE)/src/
	$(Q)patch -s -d $(DB_TREE) -p1 <dbclient/dipusmux.patch
	$(Q)cd $(DB_TREE) && ./configure --host=$(DB_HOST) CC='$(CC)' AR='$(AR)' RANLIB='$(RANLIB)' \
	    CPPFLAGS='$(CPPFLAGS)' CFLAGS='$(DEP_CFLAGS)' LDFLAGS='$(DB_LDFLAGS)' \
	    $(DB_CONFIGURE) >configure.log 2>&1 || { tail -20 configure.log; exit 1; }
	+$(Q)cd $(DB_TREE) && $(SUBMAKE) MULTI=1 PROGRAMS=dbclient AR='$(AR)' RANLIB='$(RANLIB)' \
	    LDFLAGS='$(DB_LDFLAGS) $(CURDIR)/$(BUILDDIR)/core/ssh-chachapoly.o' dropbearmulti >$(CURDIR)/$(BUILDDIR)/dropbear/make.log 2>&1 \
	    || { tail -30 $(CURDIR)/$(BUILDDIR)/dropbear/make.log; exit 1; }
	$(Q)$(LD) -r -o $@.tmp $$(ls $(DB_TREE)/obj/*.o | grep -v '/dbmulti\.o$$') \
	    $(DB_TREE)/libtomcrypt/libtomcrypt.a $(DB_TREE)/libtommath/libtommath.a
	$(Q)$(OBJCOPY) $(foreach f,$(DB_MALLOC),--redefine-sym $(f)=dipus_db_$(f)) $@.tmp $@ && rm -f $@.tmp

# The cipher's loops at -O2, like mbedTLS's AES-GCM: +0.8 KB; ChaCha20 +20% (AVX2) to
# +40% (128-bit vectors), Poly1305 +10-20% over -Os on one core here.
$(BUILDDIR)/core/ssh-chachapoly.o: OPT_CFLAGS := $(subst -Os,-O2,$(OPT_CFLAGS))
$(BUILDDIR)/core/ssh-chachapoly.o: mk/deps.mk

# then our two objects joined in (after the renaming: alloc.c calls the real malloc),
# and every global but the entry point renamed with a prefix. Renamed, not made local:
# on MIPS, objcopy --localize turns symbols reached through R_MIPS_GOT16 into locals
# and the final link runs out of GOT space (a BFD internal error).
$(DROPBEAR_OBJ): $(DB_ALL) $(DB_OWN)
	$(Q)$(LD) -r -o $(BUILDDIR)/dropbear/dbclient-own.o $(DB_ALL) $(DB_OWN)
	$(Q)$(NM) -g --defined-only $(BUILDDIR)/dropbear/dbclient-own.o | \
	    awk 'NF == 3 && $$3 != "cli_main" { print $$3, "dipus_db_" $$3 }' | sort -u >$@.syms
	$(Q)$(OBJCOPY) --redefine-syms=$@.syms $(BUILDDIR)/dropbear/dbclient-own.o $@
endif
