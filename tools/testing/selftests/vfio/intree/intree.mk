# SPDX-License-Identifier: GPL-2.0
#
# The in-tree build of the series, included by the top-level Makefile
# (which sets TOP and B):
#
#   make kernel [KERNEL_FLAVOR=debug|plain]   guest kernel + modules in
#                                             build/kernel-<flavour>/
#   make kernel-config [KERNEL_FLAVOR=...]    just its .config
#   make kernel-vfio [KERNEL_FLAVOR=...]      rebuild only drivers/vfio in an
#                                             existing build (fast)
#   make kernel-oracle [KERNEL_FLAVOR=...]    upstream's pristine vfio as
#                                             modules for that kernel, in
#                                             build/kernel-<flavour>/vfio-upstream/
#                                             (`make kernel` builds it too)
#   make series                               the tree as patches against
#                                             6.12, in build/series/
#   make series-check                         apply them one by one to a
#                                             pristine 6.12 and build each
#   make kernel-cache                         what the machine's kernel cache
#                                             holds (VFIO_KCACHE=DIR elsewhere,
#                                             VFIO_KCACHE=build in build/)
#
# The test bed boots it with `make check KERNEL=debug [VFIO_MODULES=distro]`.
# See intree/build-kernel.sh and intree/build-upstream-vfio.sh.

KERNEL_FLAVOR ?= debug
INTREE_DIR := $(TOP)/tools/testing/selftests/vfio/intree
INTREE_BUILD = KERNEL_FLAVOR=$(KERNEL_FLAVOR) B=$(B) \
	$(INTREE_DIR)/build-kernel.sh

INTREE_ORACLE = B=$(B) $(INTREE_DIR)/build-upstream-vfio.sh

.PHONY: kernel kernel-config kernel-vfio kernel-oracle \
	kernel-oracle-debug kernel-oracle-plain kernel-cache

kernel: deps
	@$(INTREE_BUILD)
	@KERNEL_FLAVOR=$(KERNEL_FLAVOR) $(INTREE_ORACLE)

kernel-oracle: kernel-oracle-$(KERNEL_FLAVOR)

kernel-oracle-debug kernel-oracle-plain: deps
	@KERNEL_FLAVOR=$(@:kernel-oracle-%=%) $(INTREE_ORACLE)

kernel-config: deps
	@$(INTREE_BUILD) --config-only

kernel-vfio: deps
	@$(INTREE_BUILD) --vfio-only

# The series (intree/series/series, intree/make-series.py): patches in
# build/series/, checkpatch --strict on each; series-check applies them
# to a pristine tree and builds after every one (intree/series-check.sh).
.PHONY: series series-check

series: deps $(KSRC)/.stamp
	@$(INTREE_DIR)/make-series.py --out $(B)/series --work $(B)/series-work

series-check: series
	@B=$(B) $(INTREE_DIR)/series-check.sh

kernel-cache:
	@$(INTREE_DIR)/kernel-cache.sh status
