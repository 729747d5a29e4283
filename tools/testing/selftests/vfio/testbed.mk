# SPDX-License-Identifier: GPL-2.0
#
# The guest test bed, included by the top-level Makefile (which defines
# TOP, B, KVER, KSRC, `deps`, `modules` and $(KSRC)/.stamp).
#
#   make check                 host-side TAP scripts, then the guest suite:
#                              one boot with the IOMMU (every TEST_GEN_PROGS),
#                              one without (TEST_NOIOMMU_PROGS, if any),
#                              one with KVM in the guest (TEST_KVM_PROGS)
#   make check T="a b"         only those programs (guest or host-side)
#   make check PROFILE=noiommu only that boot (iommu|noiommu|kvm)
#   make check VFIO_MODULES=distro   the same against Debian's vfio modules
#                              (tests see $VFIO_MODULES and may SKIP)
#   make shell                 the same guest, modules loaded, a shell on
#                              the console (Ctrl-A X leaves QEMU)
#   make run                   vfio_demo on the edu device, bound to vfio-pci
#   make check-clients         QEMU and DPDK, unchanged, on our modules with
#                              the distro's as control, in one boot per
#                              clients' profile (TEST_CLIENT_PROGS,
#                              TEST_CLIENT_NOIOMMU_PROGS); their images are
#                              built from Debian's packages into a cache
#   make bench                 TEST_BENCH_PROGS against both module sets
#   make testbed-selftest      prove that a real kernel splat fails a run
#   make selftests / initramfs the pieces
#
# Knobs: TB_TIMEOUT (s per program; default: `settings`, kselftest's
# format), TB_RUN_TIMEOUT (s per boot, default 2400), both times TB_SLOW
# (default 3 on a debug kernel - KASAN or lockdep in its config - else 1),
# TB_OUT (the bed's
# directory, default build/testbed: give each of several people sharing a
# checkout their own).  Everything lands in build/: selftests/ (binaries),
# testbed/initramfs.cpio, and per boot
# testbed/MODE-PROFILE/{console,results,dmesg,qemu}.log.  The last line of
# check is "N passed, N failed, N skipped"; any failure, kernel splat or
# unfinished boot makes it exit non-zero.

TB_DIR := $(TOP)/tools/testing/selftests/vfio
VFIO_MODULES ?= ours
PROFILE ?=
T ?=
TB_OUT ?= $(B)/testbed
# KERNEL=debug|plain|DIR: boot the in-tree kernel (intree/build-kernel.sh,
# `make kernel`) instead of Debian's; host drivers and the "ours" vfio stack
# come from its build.  Debian's stack cannot load into it: there
# VFIO_MODULES=distro is upstream 6.12's pristine vfio built against that
# kernel (DIR/vfio-upstream, intree/build-upstream-vfio.sh, `make
# kernel-oracle`), the same oracle.  VFIO_MODULES=upstream is another
# name for distro.
KERNEL ?=
TB_KERNEL := $(if $(KERNEL),$(abspath $(if $(filter debug plain,$(KERNEL)),$(B)/kernel-$(KERNEL),$(KERNEL))))
# A debug kernel runs the programs several times slower (vfio_pci_irq_test
# ~400 s, vfio_device_test ~310 s on the in-tree debug kernel, against a
# `settings` timeout of 300 s), so its timeouts scale.
TB_DEBUG_KERNEL := $(if $(TB_KERNEL),$(shell grep -qsE \
	'^CONFIG_(KASAN|PROVE_LOCKING)=y' $(TB_KERNEL)/config && echo 1))
TB_SLOW ?= $(if $(TB_DEBUG_KERNEL),3,1)
TB_TIMEOUT ?= $(shell echo $$(( $(or $(shell sed -n 's/^timeout=//p' \
	$(TB_DIR)/settings 2>/dev/null),300) * $(TB_SLOW) )))
TB_RUN_TIMEOUT ?= $(shell echo $$(( 2400 * $(TB_SLOW) )))
ifeq ($(VFIO_MODULES),upstream)
override VFIO_MODULES := distro
endif

ifneq ($(TB_KERNEL),)
ifeq ($(VFIO_MODULES),ours)
TB_MODULES_DEP :=
else ifeq ($(VFIO_MODULES),distro)
TB_MODULES_DEP := $(if $(filter debug plain,$(KERNEL)),kernel-oracle-$(KERNEL))
else
$(error VFIO_MODULES must be ours, distro or upstream, not '$(VFIO_MODULES)')
endif
else ifeq ($(VFIO_MODULES),ours)
TB_MODULES_DEP := modules modules-loose testmods
else ifeq ($(VFIO_MODULES),distro)
TB_MODULES_DEP :=
else
$(error VFIO_MODULES must be ours or distro, not '$(VFIO_MODULES)')
endif

TB_ENV = KVER=$(KVER) TOP=$(TOP) B=$(B) VFIO_MODULES=$(VFIO_MODULES) \
	PROFILE="$(PROFILE)" T="$(T)" TB_TIMEOUT=$(TB_TIMEOUT) \
	TB_RUN_TIMEOUT=$(TB_RUN_TIMEOUT) TB_KERNEL=$(TB_KERNEL) TB_OUT=$(TB_OUT)

# The clients run an L2 guest under TCG inside the TCG guest, twice per
# module set: minutes per program.
TB_CLIENT_TIMEOUT ?= $(shell echo $$(( 1800 * $(TB_SLOW) )))

.PHONY: selftests initramfs check check-clients shell run bench testbed-selftest

selftests: deps $(KSRC)/.stamp
	@$(MAKE) -s -C $(TB_DIR) TB_BUILD=1 TOP=$(TOP) OUTPUT=$(B)/selftests \
		KSFT_DIR=$(KSRC)/tools/testing/selftests

initramfs: deps selftests $(TB_MODULES_DEP)
	@$(TB_ENV) $(TB_DIR)/vm/build-initramfs.sh

check: initramfs
	@$(TB_ENV) $(TB_DIR)/vm/check.sh check

check-clients: initramfs
	@$(TB_ENV) TB_TIMEOUT=$(TB_CLIENT_TIMEOUT) $(TB_DIR)/vm/check.sh clients

run: initramfs
	@test -x $(B)/selftests/vfio_demo || \
		{ echo "run: no vfio_demo ($(TB_DIR)/vfio_demo.c not written yet)"; exit 1; }
	@$(TB_ENV) $(TB_DIR)/vm/check.sh run

bench: initramfs
	@$(TB_ENV) $(TB_DIR)/vm/check.sh bench

shell: initramfs
	@$(TB_ENV) $(TB_DIR)/vm/qemu.sh shell $(or $(PROFILE),iommu)

testbed-selftest: initramfs
	@$(TB_ENV) $(TB_DIR)/vm/check.sh selftest
