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
#
# The test bed boots it with `make check KERNEL=build/kernel-debug`.
# See intree/build-kernel.sh.

KERNEL_FLAVOR ?= debug
INTREE_DIR := $(TOP)/tools/testing/selftests/vfio/intree
INTREE_BUILD = KERNEL_FLAVOR=$(KERNEL_FLAVOR) B=$(B) \
	$(INTREE_DIR)/build-kernel.sh

.PHONY: kernel kernel-config kernel-vfio

kernel: deps
	@$(INTREE_BUILD)

kernel-config: deps
	@$(INTREE_BUILD) --config-only

kernel-vfio: deps
	@$(INTREE_BUILD) --vfio-only
