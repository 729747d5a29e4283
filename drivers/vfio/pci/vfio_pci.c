// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci: the generic VFIO driver for PCI devices.
 *
 * All the work is done by vfio-pci-core; this is its ops table and the
 * pci_driver that userspace binds devices to.  The driver matches nothing
 * by itself: a device is bound through driver_override or new_id, or by
 * the IDs listed in the "ids" module parameter.  Devices on the denylist
 * are refused whichever way, unless the disable_denylist parameter is set.
 */

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

static char ids[1024] __initdata;
module_param_string(ids, ids, sizeof(ids), 0);
MODULE_PARM_DESC(ids, "Bind to these devices at load: comma-separated vendor:device[:subvendor[:subdevice[:class[:class_mask]]]], hex");

static bool nointxmask;
module_param(nointxmask, bool, 0444);
MODULE_PARM_DESC(nointxmask, "Never mask INTx at the device, only at the interrupt controller (for devices whose INTx disable bit is broken)");

static bool disable_vga;
module_param(disable_vga, bool, 0444);
MODULE_PARM_DESC(disable_vga, "Do not offer the legacy VGA region of VGA devices");

static bool disable_idle_d3;
module_param(disable_idle_d3, bool, 0444);
MODULE_PARM_DESC(disable_idle_d3, "Keep unused devices in D0 instead of D3hot");

static bool disable_denylist;
module_param(disable_denylist, bool, 0444);
MODULE_PARM_DESC(disable_denylist, "Also bind devices on the denylist (errata that make assigning them unsafe); each one is logged");

static char denylist_extra[16];
module_param_string(denylist_extra, denylist_extra, sizeof(denylist_extra),
		    0444);
MODULE_PARM_DESC(denylist_extra, "TEST ONLY: deny one more device, vendor:device in hex, so the denylist can be exercised on a machine without a denied device");

static bool enable_sriov;
module_param(enable_sriov, bool, 0444);
MODULE_PARM_DESC(enable_sriov, "Allow enabling SR-IOV on PFs bound to vfio-pci (through sysfs sriov_numvfs)");

/*
 * Devices that must not be handed to a user: their errata may lead to
 * exploitable stability or security problems when a user drives them.
 * Intel QuickAssist (DH895xCC, C3xxx and C62x, PFs and VFs) and the
 * Sapphire Rapids stepping 0 DSA and IAX accelerators.
 */
static const struct pci_device_id vfio_pci_denylist[] = {
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_DH895XCC_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C3XXX_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_QAT_C62X_VF) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_DSA_SPR0) },
	{ PCI_VDEVICE(INTEL, PCI_DEVICE_ID_INTEL_IAX_SPR0) },
	{ }
};

/* The device named by denylist_extra, parsed at load; vendor 0: none. */
static u16 denylist_extra_vendor, denylist_extra_device;

static bool vfio_pci_on_denylist(struct pci_dev *pdev)
{
	if (pci_match_id(vfio_pci_denylist, pdev))
		return true;
	return denylist_extra_vendor && pdev->vendor == denylist_extra_vendor &&
	       pdev->device == denylist_extra_device;
}

/* May @pdev be bound?  Says why not, or that the admin overrode it. */
static bool vfio_pci_denied(struct pci_dev *pdev)
{
	if (!vfio_pci_on_denylist(pdev))
		return false;
	if (disable_denylist) {
		pci_warn(pdev, "vfio-pci: device on the denylist bound anyway (disable_denylist=1): its errata may let its user destabilize the host\n");
		return false;
	}
	pci_warn(pdev, "vfio-pci: refusing a device on the denylist (errata unsafe to assign); disable_denylist=1 overrides\n");
	return true;
}

static const struct vfio_device_ops vfio_pci_ops = {
	.name		= "vfio-pci",
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= vfio_pci_core_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
	.device_feature	= vfio_pci_core_device_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.get_unmapped_area = vfio_pci_core_get_unmapped_area,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.check_token	= vfio_pci_core_check_token,
};

static int vfio_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vfio_pci_core_device *core;
	int ret;

	if (vfio_pci_denied(pdev))
		return -EINVAL;

	core = vfio_alloc_device(vfio_pci_core_device, vdev, &pdev->dev,
				 &vfio_pci_ops);
	if (IS_ERR(core))
		return PTR_ERR(core);

	core->opts.nointxmask = nointxmask;
	core->opts.disable_vga = disable_vga;
	core->opts.disable_idle_d3 = disable_idle_d3;

	ret = vfio_pci_core_register_device(core);
	if (ret)
		goto err_put;
	return 0;

err_put:
	vfio_put_device(&core->vdev);
	return ret;
}

static void vfio_pci_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

static int vfio_pci_sriov_configure(struct pci_dev *pdev, int nr_virtfn)
{
	if (!enable_sriov)
		return -ENOENT;
	return vfio_pci_core_sriov_configure(dev_get_drvdata(&pdev->dev),
					     nr_virtfn);
}

static const struct pci_error_handlers vfio_pci_err_handlers = {
	.error_detected = vfio_pci_core_aer_err_detected,
};

static struct pci_driver vfio_pci_driver = {
	.name			= "vfio-pci",
	.id_table		= NULL,	/* driver_override, new_id or ids= */
	.probe			= vfio_pci_probe,
	.remove			= vfio_pci_remove,
	.sriov_configure	= vfio_pci_sriov_configure,
	.err_handler		= &vfio_pci_err_handlers,
	.driver_managed_dma	= true,
};

/* Add a dynamic ID for each entry of the ids= parameter. */
static void __init vfio_pci_add_ids(void)
{
	char *p = ids, *id;

	while ((id = strsep(&p, ","))) {
		unsigned int vendor, device, subvendor = PCI_ANY_ID,
			     subdevice = PCI_ANY_ID, class = 0, class_mask = 0;
		int n, ret;

		if (!*id)
			continue;
		n = sscanf(id, "%x:%x:%x:%x:%x:%x", &vendor, &device,
			   &subvendor, &subdevice, &class, &class_mask);
		if (n < 2) {
			pr_warn("vfio-pci: ignoring malformed id \"%s\"\n", id);
			continue;
		}
		ret = pci_add_dynid(&vfio_pci_driver, vendor, device, subvendor,
				    subdevice, class, class_mask, 0);
		if (ret)
			pr_warn("vfio-pci: cannot add id %04x:%04x: %d\n",
				vendor, device, ret);
		else
			pr_info("vfio-pci: added id %04x:%04x\n",
				vendor, device);
	}
}

static void __init vfio_pci_parse_denylist_extra(void)
{
	unsigned int vendor, device;

	if (!*denylist_extra)
		return;
	if (sscanf(denylist_extra, "%x:%x", &vendor, &device) != 2 ||
	    !vendor || vendor > 0xffff || device > 0xffff) {
		pr_warn("vfio-pci: ignoring malformed denylist_extra \"%s\"\n",
			denylist_extra);
		return;
	}
	denylist_extra_vendor = vendor;
	denylist_extra_device = device;
	pr_warn("vfio-pci: test only: denying %04x:%04x too\n", vendor, device);
}

static int __init vfio_pci_init(void)
{
	int ret;

	vfio_pci_parse_denylist_extra();
	ret = pci_register_driver(&vfio_pci_driver);
	if (ret)
		return ret;
	vfio_pci_add_ids();
	return 0;
}
module_init(vfio_pci_init);

static void __exit vfio_pci_exit(void)
{
	pci_unregister_driver(&vfio_pci_driver);
}
module_exit(vfio_pci_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO PCI - User Level meta-driver");
