// SPDX-License-Identifier: GPL-2.0-only
/*
 * No-IOMMU mode: VFIO for devices that no IOMMU protects.
 *
 * Some systems have no IOMMU but still want the device access VFIO gives
 * (interrupts through eventfds, config space mediation, resets) for
 * userspace drivers such as DPDK.  Such a device can DMA to any physical
 * address, so this mode gives up the isolation VFIO exists for; it is
 * compiled in only with CONFIG_VFIO_NOIOMMU, stays off until the
 * enable_unsafe_noiommu_mode parameter is set, needs CAP_SYS_RAWIO at every
 * step (group open, attach, device open, model selection) and taints the
 * kernel when a device is registered this way.
 *
 * The backend below is the container's IOMMU model for such groups,
 * VFIO_NOIOMMU_IOMMU: it has no DMA mapping ioctls at all.
 */
#include <linux/capability.h>
#include <linux/kstrtox.h>
#include <linux/moduleparam.h>

#include "vfio.h"

/* Written by vfio_group_set_noiommu() only. */
bool vfio_noiommu;

/*
 * Writable at runtime; switching it off fails with -EBUSY while a no-IOMMU
 * group exists (vfio_group_set_noiommu()).
 */
static int vfio_noiommu_param_set(const char *val,
				  const struct kernel_param *kp)
{
	bool on;
	int ret;

	/* A bare "enable_unsafe_noiommu_mode" means on, as for any bool. */
	ret = kstrtobool(val ?: "1", &on);
	if (ret)
		return ret;
	return vfio_group_set_noiommu(on);
}

static const struct kernel_param_ops vfio_noiommu_param_ops = {
	.flags	= KERNEL_PARAM_OPS_FL_NOARG,
	.set	= vfio_noiommu_param_set,
	.get	= param_get_bool,
};

module_param_cb(enable_unsafe_noiommu_mode, &vfio_noiommu_param_ops,
		&vfio_noiommu, 0644);
MODULE_PARM_DESC(enable_unsafe_noiommu_mode,
		 "Let VFIO drive devices that no IOMMU protects. This is UNSAFE: such a device can DMA anywhere in memory. Cannot be switched off while a no-IOMMU group exists. (default: false)");

static int vfio_noiommu_check_extension(void *data, unsigned long ext)
{
	return vfio_noiommu_enabled() && ext == VFIO_NOIOMMU_IOMMU;
}

static void *vfio_noiommu_open(unsigned long type)
{
	if (type != VFIO_NOIOMMU_IOMMU)
		return ERR_PTR(-EINVAL);
	if (!capable(CAP_SYS_RAWIO))
		return ERR_PTR(-EPERM);
	/* There is no state; any non-error pointer will do. */
	return NULL;
}

static void vfio_noiommu_release(void *data)
{
}

static long vfio_noiommu_ioctl(void *data, unsigned int cmd,
			       unsigned long arg)
{
	return -ENOTTY;
}

static int vfio_noiommu_attach_group(void *data, struct iommu_group *group,
				     enum vfio_group_kind kind)
{
	return kind == VFIO_GROUP_NOIOMMU ? 0 : -EINVAL;
}

static void vfio_noiommu_detach_group(void *data, struct iommu_group *group)
{
}

const struct vfio_iommu_backend_ops vfio_noiommu_ops = {
	.name		 = "vfio-noiommu",
	.owner		 = THIS_MODULE,
	.check_extension = vfio_noiommu_check_extension,
	.open		 = vfio_noiommu_open,
	.release	 = vfio_noiommu_release,
	.ioctl		 = vfio_noiommu_ioctl,
	.attach_group	 = vfio_noiommu_attach_group,
	.detach_group	 = vfio_noiommu_detach_group,
};

int __init vfio_noiommu_init(void)
{
	return vfio_register_iommu_backend(&vfio_noiommu_ops);
}

void vfio_noiommu_exit(void)
{
	vfio_unregister_iommu_backend(&vfio_noiommu_ops);
}
