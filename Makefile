# SPDX-License-Identifier: GPL-2.0
#
# Drives everything for this kernel subtree: the out-of-tree module build
# against Debian's linux-headers-6.12, the static checks, and (through
# tools/testing/selftests/vfio/testbed.mk) the QEMU guest that runs the
# tests, the demo and the benchmarks.
#
#   make            build our modules into build/modules/
#   make deps       install what is missing (apt-get), quietly
#   make lint       W=1, sparse C=2, checkpatch --strict, kernel-doc, coccicheck
#   make check      build everything and run the suite in the guest
#   make check-clients  QEMU and DPDK on our modules, the distro's as control
#   make run        boot the guest and run the demo on a real (emulated) device
#   make shell      boot the guest and open a shell in it
#
# The kernel version is taken from the headers installed under /usr/src,
# never from `uname -r`: the host runs some other kernel.

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
B := $(TOP)/build
KVER = $(shell ls -d /usr/src/linux-headers-6.12*-amd64 2>/dev/null | \
	sort -V | tail -n1 | sed 's|.*/linux-headers-||')
KDIR = /usr/src/linux-headers-$(KVER)
SRC_TARBALL := /usr/src/linux-source-6.12.tar.xz
# Pieces of the kernel source tree we use as tools: checkpatch, kernel-doc,
# coccinelle scripts and the kselftest harness.
KSRC := $(B)/linux-tools

# Options the distro config lacks but the series needs.  They are set on the
# kbuild command line so both make and the preprocessor see them.
EXTRA_KCONFIG := CONFIG_VFIO_NOIOMMU=y CONFIG_VFIO_STRICT_PFNMAP=y
EXTRA_KCPP := -DCONFIG_VFIO_NOIOMMU=1 -DCONFIG_VFIO_STRICT_PFNMAP=1

MODULE_SRCS := $(shell find $(TOP)/drivers/vfio $(TOP)/include -type f)

# Kbuild writes its objects next to the sources; keep them out of the tree
# by building a mirror under build/.
KBUILD_ARGS = -C $(KDIR) M=$(B)/tree/drivers/vfio \
	NOSTDINC_FLAGS="-nostdinc -I$(B)/tree/include" \
	$(EXTRA_KCONFIG) KCPPFLAGS="$(EXTRA_KCPP)"

# vfio_iommu_type1 once more without CONFIG_VFIO_STRICT_PFNMAP, for the
# tests of that mode (build/modules/loose/); the other modules are the
# same either way, so only type1 is built, against the main tree's symbols.
LOOSE_KBUILD_ARGS = -C $(KDIR) M=$(B)/tree-loose/drivers/vfio \
	NOSTDINC_FLAGS="-nostdinc -I$(B)/tree-loose/include" \
	CONFIG_VFIO= CONFIG_VFIO_PCI_CORE= CONFIG_VFIO_NOIOMMU=y \
	KCPPFLAGS="-DCONFIG_VFIO_NOIOMMU=1" \
	KBUILD_EXTRA_SYMBOLS=$(B)/tree/drivers/vfio/Module.symvers

.PHONY: all modules modules-loose testmods deps lint clean tree

all: modules

deps:
	@$(TOP)/tools/testing/selftests/vfio/deps.sh

tree:
	@mkdir -p $(B)/tree
	@rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude='modules.order' \
		--exclude='Module.symvers' \
		$(TOP)/drivers $(TOP)/include $(B)/tree/

modules: deps tree
	@$(MAKE) -s $(KBUILD_ARGS) modules
	@mkdir -p $(B)/modules
	@find $(B)/tree/drivers/vfio -name '*.ko' -exec cp {} $(B)/modules/ \;
	@echo "modules for $(KVER): $$(cd $(B)/modules && echo *.ko)"

modules-loose: modules
	@mkdir -p $(B)/tree-loose
	@rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude='modules.order' \
		--exclude='Module.symvers' \
		$(TOP)/drivers $(TOP)/include $(B)/tree-loose/
	@$(MAKE) -s $(LOOSE_KBUILD_ARGS) modules
	@mkdir -p $(B)/modules/loose
	@cp $(B)/tree-loose/drivers/vfio/vfio_iommu_type1.ko $(B)/modules/loose/

# Test-only modules (tools/testing/selftests/vfio/kmod), for the test image:
# build/modules/test/.  They use our vfio's exports.
TESTMOD_KBUILD_ARGS = -C $(KDIR) M=$(B)/tree-testmod \
	NOSTDINC_FLAGS="-nostdinc -I$(B)/tree/include" \
	KBUILD_EXTRA_SYMBOLS=$(B)/tree/drivers/vfio/Module.symvers

testmods: modules
	@mkdir -p $(B)/tree-testmod
	@rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude='modules.order' \
		--exclude='Module.symvers' \
		$(TOP)/tools/testing/selftests/vfio/kmod/ $(B)/tree-testmod/
	@$(MAKE) -s $(TESTMOD_KBUILD_ARGS) modules
	@mkdir -p $(B)/modules/test
	@cp $(B)/tree-testmod/*.ko $(B)/modules/test/

$(KSRC)/.stamp: | deps
	@mkdir -p $(KSRC)
	@tar -xJf $(SRC_TARBALL) -C $(KSRC) --strip-components=1 \
		linux-source-6.12/scripts linux-source-6.12/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.12/tools/testing/selftests/kselftest.h \
		linux-source-6.12/tools/include
	@touch $@

ksrc: $(KSRC)/.stamp

LINT_KERNEL_FILES = $(shell cd $(TOP) && find drivers include -name '*.[ch]')
LINT_TEST_FILES = $(shell cd $(TOP) && find tools/testing/selftests/vfio \
	-name '*.[ch]')

lint: deps tree $(KSRC)/.stamp
	@echo "== W=1 + sparse C=2"
	@rm -f $(B)/lint.log
	@$(MAKE) -s $(KBUILD_ARGS) W=1 C=2 CHECK="sparse -Wno-decl" \
		modules 2>&1 | tee $(B)/lint.log
	@! grep -E 'warning|error' $(B)/lint.log
	@echo "== checkpatch --strict"
	@cd $(TOP) && $(KSRC)/scripts/checkpatch.pl --strict --quiet --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f $(LINT_KERNEL_FILES)
	@# Userspace tests: offsetofend() and friends must name a member twice.
	@cd $(TOP) && $(KSRC)/scripts/checkpatch.pl --strict --quiet --no-tree \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,MACRO_ARG_REUSE \
		-f $(LINT_TEST_FILES)
	@echo "== kernel-doc"
	@cd $(TOP) && ! $(KSRC)/scripts/kernel-doc -none -Wall \
		$$(find drivers include -name '*.[ch]') 2>&1 | grep .
	@echo "== coccicheck"
	@$(TOP)/tools/testing/selftests/vfio/coccicheck.sh $(KSRC) $(TOP)
	@echo "lint: clean"

clean:
	rm -rf $(B)

-include $(TOP)/tools/testing/selftests/vfio/testbed.mk
-include $(TOP)/tools/testing/selftests/vfio/intree/intree.mk
