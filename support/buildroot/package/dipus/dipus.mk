################################################################################
#
# dipus
#
################################################################################

# dipus itself: a source archive of the clone this tree is in ("make dist" writes
# build/dist/dipus-$(DIPUS_VERSION).tar.gz); a working copy's archive changes with
# every commit, so its hash is not pinned.
DIPUS_VERSION = 0.1.0
DIPUS_SITE = $(BR2_EXTERNAL_DIPUS_PATH)/../../build/dist
DIPUS_SITE_METHOD = file
BR_NO_CHECK_HASH_FOR += $(DIPUS_SOURCE)
DIPUS_LICENSE = MIT, Apache-2.0 (mbedTLS), MIT (dropbear, libtomcrypt, libtommath)
DIPUS_LICENSE_FILES = LICENSE LICENSES/mbedtls.txt LICENSES/dropbear.txt

# The pinned dependencies, compiled into the binary: upstream's archives, the same
# files as Debian's .orig archives that dipus's scripts/deps/*.hash pin.
DIPUS_MBEDTLS_VERSION = 3.6.6
DIPUS_DROPBEAR_VERSION = 2025.89
DIPUS_MBEDTLS_SOURCE = mbedtls-$(DIPUS_MBEDTLS_VERSION).tar.bz2
DIPUS_DROPBEAR_SOURCE = dropbear-$(DIPUS_DROPBEAR_VERSION).tar.bz2
DIPUS_EXTRA_DOWNLOADS = \
	https://github.com/Mbed-TLS/mbedtls/releases/download/mbedtls-$(DIPUS_MBEDTLS_VERSION)/$(DIPUS_MBEDTLS_SOURCE) \
	https://matt.ucc.asn.au/dropbear/releases/$(DIPUS_DROPBEAR_SOURCE)

ifeq ($(BR2_PACKAGE_DIPUS_TINY),y)
DIPUS_BASE_CONFIG = config/tiny.config
DIPUS_OFF =
else
DIPUS_BASE_CONFIG = config/defconfig
DIPUS_OFF = \
	$(if $(BR2_PACKAGE_DIPUS_TLS),,EXPORTER KEYGEN TRUST TLS) \
	$(if $(BR2_PACKAGE_DIPUS_SSH),,SSH_IMPORTER DBCLIENT SSH) \
	$(if $(BR2_PACKAGE_DIPUS_DISCOVERY),,DISCOVERER)
endif

# dipus's make with the target toolchain: its own -I flags stay, Buildroot's flags
# are added; no -Werror with a compiler dipus does not control; static when the
# toolchain has no shared libraries (else dipus's default: static on musl).
DIPUS_MAKE_OPTS = \
	$(TARGET_CONFIGURE_OPTS) \
	CONFIG=br.config \
	DL_DIR=$(@D)/dl \
	WERROR=0 \
	$(if $(BR2_STATIC_LIBS),STATIC=1)

define DIPUS_CONFIGURE_CMDS
	cp $(@D)/$(DIPUS_BASE_CONFIG) $(@D)/br.config
	$(foreach o,$(DIPUS_OFF),
		$(SED) 's/^CONFIG_$(o)=y$$/# CONFIG_$(o) is not set/' $(@D)/br.config)
	mkdir -p $(@D)/dl
	ln -sf $(DIPUS_DL_DIR)/$(DIPUS_MBEDTLS_SOURCE) \
		$(@D)/dl/mbedtls_$(DIPUS_MBEDTLS_VERSION).orig.tar.bz2
	ln -sf $(DIPUS_DL_DIR)/$(DIPUS_DROPBEAR_SOURCE) \
		$(@D)/dl/dropbear_$(DIPUS_DROPBEAR_VERSION).orig.tar.bz2
endef

define DIPUS_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(DIPUS_MAKE_OPTS) all
endef

define DIPUS_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(DIPUS_MAKE_OPTS) \
		DESTDIR=$(TARGET_DIR) PREFIX=/usr install
endef

# dipusd's init script and unit, when this source has them
define DIPUS_INSTALL_INIT_SYSV
	if [ -f $(@D)/support/init/S50dipusd ]; then \
		$(INSTALL) -D -m 0755 $(@D)/support/init/S50dipusd \
			$(TARGET_DIR)/etc/init.d/S50dipusd; \
	fi
endef

define DIPUS_INSTALL_INIT_SYSTEMD
	if [ -f $(@D)/support/init/dipusd.service ]; then \
		$(INSTALL) -D -m 0644 $(@D)/support/init/dipusd.service \
			$(TARGET_DIR)/usr/lib/systemd/system/dipusd.service; \
	fi
endef

$(eval $(generic-package))
