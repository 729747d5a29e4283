/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vfio-pci-core: the PCI machinery behind vfio-pci, as a library that
 * vfio-pci itself and device-specific variant drivers are built on.
 *
 * A variant driver embeds struct vfio_pci_core_device in its own state
 * (the core structure first, so that its struct vfio_device is first too),
 * points the vfio_device_ops it needs at the vfio_pci_core_*() functions
 * below and overrides the ones it wants to change.  Its PCI probe is then:
 *
 *	core = vfio_alloc_device(my_state, core.vdev, &pdev->dev, &my_ops);
 *	ret = vfio_pci_core_register_device(core);
 *	if (ret)
 *		vfio_put_device(&core->vdev);
 *
 * with ops->init = vfio_pci_core_init_dev (or a wrapper of it) and
 * ops->release = vfio_pci_core_release_dev.  Its remove is
 * vfio_pci_core_unregister_device() followed by vfio_put_device().
 *
 * Terms: a *region* is one range of the device file, numbered by its
 * *index* (uapi's VFIO_PCI_*_REGION_INDEX) and found at file offset
 * index << VFIO_PCI_OFFSET_SHIFT; userspace (DPDK) hard-codes that layout.
 */
#ifndef __LINUX_VFIO_PCI_CORE_H
#define __LINUX_VFIO_PCI_CORE_H

#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

/* Region index N starts at file offset N << VFIO_PCI_OFFSET_SHIFT. */
#define VFIO_PCI_OFFSET_SHIFT	40

/**
 * vfio_pci_region_offset - file offset at which a region starts
 * @index: region index
 *
 * Return: the offset of byte 0 of region @index in the device file.
 */
static inline u64 vfio_pci_region_offset(unsigned int index)
{
	return (u64)index << VFIO_PCI_OFFSET_SHIFT;
}

/**
 * vfio_pci_offset_index - region index a file offset falls in
 * @pos: offset in the device file
 *
 * Return: the region index, possibly out of range.
 */
static inline u64 vfio_pci_offset_index(loff_t pos)
{
	return (u64)pos >> VFIO_PCI_OFFSET_SHIFT;
}

/**
 * vfio_pci_offset_in_region - offset of a file position within its region
 * @pos: offset in the device file
 *
 * Return: @pos less the start of the region it falls in.
 */
static inline u64 vfio_pci_offset_in_region(loff_t pos)
{
	return (u64)pos & ((1ULL << VFIO_PCI_OFFSET_SHIFT) - 1);
}

struct vfio_pci_cfg;
struct vfio_pci_irqs;
struct vfio_pci_vf_token;

/**
 * struct vfio_pci_core_opts - behaviour a bus driver chooses per device
 * @nointxmask: never mask INTx at the device (DisINTx), only at the
 *              interrupt controller, even if the device supports it; set
 *              by vfio_pci_core_register_device() too for devices known to
 *              have a broken DisINTx
 * @disable_vga: do not offer the legacy VGA region
 * @disable_idle_d3: leave the device in D0 while no user holds it
 *
 * The driver fills these in before vfio_pci_core_register_device().  They
 * are read only by the features they control, which may come later than
 * the field.
 */
struct vfio_pci_core_opts {
	bool nointxmask;
	bool disable_vga;
	bool disable_idle_d3;
};

/**
 * struct vfio_pci_core_device - a PCI device offered through VFIO
 * @vdev: the core's part; must stay first
 * @pdev: the PCI device
 * @opts: behaviour chosen by the bus driver
 * @vf_token: shared secret between this PF and the users of its VFs; NULL
 *            unless the device is an SR-IOV physical function
 * @sriov_entry: a PF's entry on the list of PFs whose VFs vfio-pci-core
 *               enabled, empty otherwise (sriov.c)
 * @sriov_pf: a VF's PF when that PF enabled it through vfio-pci-core, set
 *            at registration; the PF outlives the VF
 * @sriov_counted: this VF's open is counted in @sriov_pf's token users;
 *                 under dev_set->lock
 * @idle_work: parks the device in D3hot a little after it was last closed
 *             (reset.c)
 * @hold_d0: keep the device in D0 whatever idling or its user asks (see
 *           vfio_pci_hold_d0()); written with dev_set->lock and
 *           @memory_lock held, so read under either
 * @saved_state: config space saved when the device was opened, restored
 *               when it is closed; under dev_set->lock
 * @cfg: virtualized config space state, NULL while the device is closed;
 *       private to config.c
 * @bar_lock: serializes setting up @barmap; a leaf, taken under the mm's
 *            mmap_lock (mmap()) and under @ioeventfds_lock
 * @barmap: kernel mapping of each BAR, made on first access and torn down
 *          on close
 * @bar_pad: for a BAR smaller than a page, the rest of its page, held
 *           while the device is open so the BAR can be mapped (mmap.c)
 * @memory_lock: guards the device's memory decode: held for reading across
 *               every access that needs decode on (BAR and ROM access, BAR
 *               mmap faults), for writing by anything that turns it off or
 *               resets the device
 * @cmd: last value of the COMMAND register seen by the driver, under
 *       @memory_lock; BAR accesses test its memory bit instead of asking
 *       the device every time
 * @bar_regs: the BAR registers the device had when it was opened, written
 *            back should a reset vfio did not do clear them (see
 *            vfio_pci_bars_check()); set at open, then read under
 *            @memory_lock
 * @msix_bar: BAR holding the MSI-X table, or -1
 * @msix_offset: offset of the MSI-X table in @msix_bar
 * @msix_size: size of the MSI-X table in bytes
 * @needs_reset: closed without a function reset; a bus reset is due when
 *               its whole device set is closed.  Under dev_set->lock
 * @pm_save: config space saved when the user moved the device out of D0,
 *           restored when it comes back; under @memory_lock
 * @ioeventfds_lock: protects @ioeventfds and @ioeventfds_nr
 * @ioeventfds: the VFIO_DEVICE_IOEVENTFD bindings (ioeventfd.c)
 * @ioeventfds_nr: how many there are
 * @igate: serializes interrupt setup, teardown and delivery to userspace
 * @irqs: interrupt state while the device is open, NULL while it is
 *        closed; private to intrs.c
 * @err_trigger: eventfd signalled on an AER error, under @igate
 * @req_trigger: eventfd signalled when the host wants the device back,
 *               under @igate
 *
 * Lock order: written once, at the top of drivers/vfio/pci/core.c.
 */
struct vfio_pci_core_device {
	struct vfio_device vdev;
	struct pci_dev *pdev;
	struct vfio_pci_core_opts opts;
	struct vfio_pci_vf_token *vf_token;
	struct list_head sriov_entry;
	struct vfio_pci_core_device *sriov_pf;
	bool sriov_counted;
	struct delayed_work idle_work;
	bool hold_d0;

	struct pci_saved_state *saved_state;
	struct vfio_pci_cfg *cfg;
	struct mutex bar_lock;		/* sets up barmap */
	void __iomem *barmap[PCI_STD_NUM_BARS];
	struct resource *bar_pad[PCI_STD_NUM_BARS];

	struct rw_semaphore memory_lock;
	u16 cmd;
	u32 bar_regs[PCI_STD_NUM_BARS];
	int msix_bar;
	u32 msix_offset;
	u32 msix_size;

	bool needs_reset;
	struct pci_saved_state *pm_save;
	struct mutex ioeventfds_lock;	/* ioeventfds */
	struct list_head ioeventfds;
	unsigned int ioeventfds_nr;

	struct mutex igate;		/* interrupt state */
	struct vfio_pci_irqs *irqs;
	struct eventfd_ctx *err_trigger;
	struct eventfd_ctx *req_trigger;
};

/* ops->init and ops->release */
int vfio_pci_core_init_dev(struct vfio_device *vdev);
void vfio_pci_core_release_dev(struct vfio_device *vdev);

/* PCI probe and remove */
int vfio_pci_core_register_device(struct vfio_pci_core_device *core);
void vfio_pci_core_unregister_device(struct vfio_pci_core_device *core);

/* ops->open_device and ops->close_device, and the steps they are made of */
int vfio_pci_core_enable(struct vfio_pci_core_device *core);
void vfio_pci_core_finish_enable(struct vfio_pci_core_device *core);
void vfio_pci_core_disable(struct vfio_pci_core_device *core);
int vfio_pci_core_open_device(struct vfio_device *vdev);
void vfio_pci_core_close_device(struct vfio_device *vdev);

/* The file operations */
long vfio_pci_core_ioctl(struct vfio_device *vdev, unsigned int cmd,
			 unsigned long arg);
ssize_t vfio_pci_core_read(struct vfio_device *vdev, char __user *buf,
			   size_t count, loff_t *ppos);
ssize_t vfio_pci_core_write(struct vfio_device *vdev, const char __user *buf,
			    size_t count, loff_t *ppos);
int vfio_pci_core_mmap(struct vfio_device *vdev, struct vm_area_struct *vma);
unsigned long vfio_pci_core_get_unmapped_area(struct vfio_device *vdev,
					      struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);
void vfio_pci_core_request(struct vfio_device *vdev, unsigned int count);
int vfio_pci_core_match(struct vfio_device *vdev, char *buf);
int vfio_pci_core_check_token(struct vfio_device *vdev, const uuid_t *token);
int vfio_pci_core_device_feature(struct vfio_device *vdev, u32 flags,
				 void __user *arg, size_t argsz);

/* pci_driver.sriov_configure */
int vfio_pci_core_sriov_configure(struct vfio_pci_core_device *core,
				  int nr_virtfn);

/* PCI error recovery */
pci_ers_result_t vfio_pci_core_aer_err_detected(struct pci_dev *pdev,
						pci_channel_state_t state);

#endif /* __LINUX_VFIO_PCI_CORE_H */
