/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interfaces between the files of vfio-pci-core.  Nothing here is seen by
 * bus drivers; see include/linux/vfio_pci_core.h for what they use, and
 * the top of core.c for the lock order.
 *
 * One prefix per file: vfio_pci_cfg_*() virtualizes config space
 * (config.c), vfio_pci_bar_*() and vfio_pci_rom_*() reach the BARs and
 * the option ROM (rdwr.c), vfio_pci_irq_*() is interrupt delivery to
 * userspace (intrs.c), vfio_pci_vga_*() the legacy VGA ranges (vga.c),
 * vfio_pci_ioeventfd_*() eventfd-triggered BAR writes (ioeventfd.c),
 * vfio_pci_sriov_*() SR-IOV and the VF token (sriov.c); resets and power
 * states are in reset.c.
 */
#ifndef __VFIO_PCI_PRIVATE_H
#define __VFIO_PCI_PRIVATE_H

#include <linux/uuid.h>
#include <linux/vfio_pci_core.h>

/**
 * struct vfio_pci_vf_token - the secret a PF shares with users of its VFs
 * @lock: protects @uuid and @users
 * @uuid: the current token; random until the PF's user sets it, and never
 *        shown to anyone
 * @users: how many of this PF's VFs are open through vfio-pci
 */
struct vfio_pci_vf_token {
	struct mutex lock;	/* protects uuid and users */
	uuid_t uuid;
	int users;
};

/*
 * The memory-decode state BAR access depends on; caller holds memory_lock.
 * core->cmd already folds in a VF's virtual memory enable and the power
 * state (see vfio_pci_cmd_refresh()).
 */
static inline bool vfio_pci_memory_enabled(struct vfio_pci_core_device *core)
{
	lockdep_assert_held(&core->memory_lock);
	return core->cmd & PCI_COMMAND_MEMORY;
}

void vfio_pci_cmd_refresh(struct vfio_pci_core_device *core);
void vfio_pci_bars_check(struct vfio_pci_core_device *core, u16 cmd);
void vfio_pci_notify(struct vfio_pci_core_device *core,
		     enum vfio_device_event event);

/* config.c */
int vfio_pci_cfg_init(struct vfio_pci_core_device *core);
void vfio_pci_cfg_exit(struct vfio_pci_core_device *core);
ssize_t vfio_pci_cfg_rw(struct vfio_pci_core_device *core, char __user *buf,
			size_t count, loff_t pos, bool write);
u16 vfio_pci_cfg_virt_mem(struct vfio_pci_core_device *core);
void vfio_pci_cfg_reset_done(struct vfio_pci_core_device *core);

/* rdwr.c */
bool vfio_pci_bar_present(struct vfio_pci_core_device *core, int bar);
int vfio_pci_bar_claim(struct vfio_pci_core_device *core, int bar);
ssize_t vfio_pci_bar_rw(struct vfio_pci_core_device *core, int bar,
			char __user *buf, size_t count, loff_t pos, bool write);
void vfio_pci_bar_unmap_all(struct vfio_pci_core_device *core);
ssize_t vfio_pci_rom_read(struct vfio_pci_core_device *core, char __user *buf,
			  size_t count, loff_t pos);
void vfio_pci_io_batch(void __iomem *io, u64 pos, u8 *kbuf, size_t len,
		       unsigned int max, bool write);

/* reset.c */
int vfio_pci_reset_function(struct vfio_pci_core_device *core);
int vfio_pci_set_power(struct vfio_pci_core_device *core, pci_power_t state);
void vfio_pci_idle_init(struct vfio_pci_core_device *core);
void vfio_pci_set_idle(struct vfio_pci_core_device *core, bool idle);
void vfio_pci_idle_stop(struct vfio_pci_core_device *core);
void vfio_pci_hold_d0(struct vfio_pci_core_device *core, bool hold);
int vfio_pci_ioctl_hot_reset_info(struct vfio_pci_core_device *core,
				  struct vfio_pci_hot_reset_info __user *uarg);
int vfio_pci_ioctl_hot_reset(struct vfio_pci_core_device *core,
			     struct vfio_pci_hot_reset __user *uarg);
void vfio_pci_dev_set_idle_reset(struct vfio_pci_core_device *core);

/* sriov.c */
int vfio_pci_sriov_init(void);
void vfio_pci_sriov_exit(void);
int vfio_pci_sriov_init_dev(struct vfio_pci_core_device *core);
void vfio_pci_sriov_release_dev(struct vfio_pci_core_device *core);
void vfio_pci_sriov_link(struct vfio_pci_core_device *core);
void vfio_pci_sriov_count_user(struct vfio_pci_core_device *core, bool open);
int vfio_pci_sriov_token_check(struct vfio_pci_core_device *core,
			       const uuid_t *uuid);
int vfio_pci_sriov_feature_token(struct vfio_pci_core_device *core, u32 flags,
				 void __user *arg, size_t argsz);

/* ioeventfd.c */
int vfio_pci_ioctl_ioeventfd(struct vfio_pci_core_device *core,
			     struct vfio_device_ioeventfd __user *uarg);
void vfio_pci_ioeventfd_release_all(struct vfio_pci_core_device *core);

/* vga.c */
#ifdef CONFIG_VFIO_PCI_VGA
bool vfio_pci_vga_present(struct vfio_pci_core_device *core);
u64 vfio_pci_vga_size(void);
int vfio_pci_vga_init(struct vfio_pci_core_device *core);
void vfio_pci_vga_exit(struct vfio_pci_core_device *core);
ssize_t vfio_pci_vga_rw(struct vfio_pci_core_device *core, char __user *buf,
			size_t count, loff_t pos, bool write);
#else
static inline bool vfio_pci_vga_present(struct vfio_pci_core_device *core)
{
	return false;
}

static inline u64 vfio_pci_vga_size(void)
{
	return 0;
}

static inline int vfio_pci_vga_init(struct vfio_pci_core_device *core)
{
	return 0;
}

static inline void vfio_pci_vga_exit(struct vfio_pci_core_device *core)
{
}

static inline ssize_t vfio_pci_vga_rw(struct vfio_pci_core_device *core,
				      char __user *buf, size_t count,
				      loff_t pos, bool write)
{
	return -EINVAL;
}
#endif

/* mmap.c */
#ifdef CONFIG_VFIO_PCI_MMAP
bool vfio_pci_mmap_ok(struct vfio_pci_core_device *core, int bar);
void vfio_pci_mmap_pad(struct vfio_pci_core_device *core);
void vfio_pci_mmap_unpad(struct vfio_pci_core_device *core);
void vfio_pci_mmap_zap(struct vfio_pci_core_device *core);
int vfio_pci_mmap(struct vfio_pci_core_device *core,
		  struct vm_area_struct *vma);
unsigned long vfio_pci_mmap_get_unmapped_area(struct vfio_pci_core_device *core,
					      struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);
#else
static inline bool vfio_pci_mmap_ok(struct vfio_pci_core_device *core,
				    int bar)
{
	return false;
}

static inline void vfio_pci_mmap_pad(struct vfio_pci_core_device *core)
{
}

static inline void vfio_pci_mmap_unpad(struct vfio_pci_core_device *core)
{
}

static inline void vfio_pci_mmap_zap(struct vfio_pci_core_device *core)
{
}

static inline int vfio_pci_mmap(struct vfio_pci_core_device *core,
				struct vm_area_struct *vma)
{
	return -EINVAL;
}

static inline unsigned long
vfio_pci_mmap_get_unmapped_area(struct vfio_pci_core_device *core,
				struct file *file, unsigned long addr,
				unsigned long len, unsigned long pgoff,
				unsigned long flags)
{
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
}
#endif

/* intrs.c */
int vfio_pci_irq_count(struct vfio_pci_core_device *core, unsigned int index);
int vfio_pci_irq_flags(struct vfio_pci_core_device *core, unsigned int index);
int vfio_pci_irq_info(struct vfio_pci_core_device *core,
		      struct vfio_irq_info *info);
int vfio_pci_irq_set(struct vfio_pci_core_device *core,
		     struct vfio_irq_set *hdr, void *data);
int vfio_pci_irq_open(struct vfio_pci_core_device *core);
void vfio_pci_irq_release_all(struct vfio_pci_core_device *core);
void vfio_pci_irq_cmd_written(struct vfio_pci_core_device *core, u16 cmd);
void vfio_pci_irq_request(struct vfio_pci_core_device *core,
			  unsigned int count);
void vfio_pci_irq_error(struct vfio_pci_core_device *core);

#endif /* __VFIO_PCI_PRIVATE_H */
