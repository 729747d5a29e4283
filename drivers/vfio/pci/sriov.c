// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-pci-core: SR-IOV on a PF that userspace owns, and the VF token.
 *
 * VFs are never fully isolated from their PF: the PF can reset them, and
 * depending on the hardware see or steer what passes through them.  When
 * the PF belongs to a vfio user, a VF user must not take that PF for a
 * trusted host driver, so the two prove they know each other with a shared
 * secret, the VF token: a UUID that the PF's user sets (open option
 * "vf_token=" or VFIO_DEVICE_FEATURE_PCI_VF_TOKEN), that starts out random
 * and that nothing ever reads back.  The rules, checked when a device is
 * looked up by name (vfio_pci_core_match()):
 *
 *   VF, PF on a vfio-pci-core driver   the current token, else -EACCES
 *   VF, PF on anything else            no token, else -EINVAL
 *   PF with VFs open through vfio      the current token, else -EACCES
 *   PF without                         a token given becomes the token
 *   anything else                      no token, else -EINVAL
 *
 * The PF's driver enables VFs through sysfs sriov_numvfs, which ends in
 * vfio_pci_core_sriov_configure().  From then until they are disabled the
 * PF is on vfio_pci_sriov_pfs; a VF probed meanwhile is linked to it for
 * its whole life (@sriov_pf, no lookup afterwards): the PF disables its
 * VFs, which waits for their users, before it can go.  A bus notifier sets
 * driver_override on VFs of listed PFs as they appear, so that no host
 * driver binds them first.
 *
 * Locks: vfio_pci_sriov_lock guards the list and every @sriov_entry; it
 * nests inside the VF's device lock (probe, bus notifications) and holds
 * nothing but the driver core's override lock.  vf_token->lock guards the
 * token and its user count; it nests inside dev_set->lock (a VF's open and
 * close count users) and holds nothing.  vfio_pci_core_sriov_configure()
 * runs under the PF's device lock and takes the PF's dev_set->lock and
 * memory_lock only around power changes, never across pci_enable_sriov()
 * or pci_disable_sriov(): those probe and remove VFs, whose device sets
 * and vfio core locks would then nest inside the PF's.
 */

#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "private.h"

static DEFINE_MUTEX(vfio_pci_sriov_lock);
static LIST_HEAD(vfio_pci_sriov_pfs);

/* The vfio-pci-core PF that enabled @physfn's VFs, or NULL. */
static struct vfio_pci_core_device *vfio_pci_sriov_pf_of(struct pci_dev *physfn)
{
	struct vfio_pci_core_device *pf;

	lockdep_assert_held(&vfio_pci_sriov_lock);
	list_for_each_entry(pf, &vfio_pci_sriov_pfs, sriov_entry)
		if (pf->pdev == physfn)
			return pf;
	return NULL;
}

static const char *vfio_pci_sriov_drv_name(struct pci_dev *pdev)
{
	struct pci_driver *drv = pci_dev_driver(pdev);

	return drv ? drv->name : "no driver";
}

/*
 * A VF of one of our PFs appears, or gets a driver.  New VFs are steered
 * to the PF's driver before anything can probe them; one that ends up on
 * another driver (the admin changed driver_override) is logged, since the
 * token no longer stands between its user and the PF's.
 */
static int vfio_pci_sriov_bus_event(struct notifier_block *nb,
				    unsigned long action, void *data)
{
	struct pci_dev *vf = to_pci_dev(data);
	struct vfio_pci_core_device *pf;
	const char *name;
	int ret;

	if (!vf->is_virtfn || (action != BUS_NOTIFY_ADD_DEVICE &&
			       action != BUS_NOTIFY_BOUND_DRIVER))
		return NOTIFY_DONE;

	mutex_lock(&vfio_pci_sriov_lock);
	pf = vfio_pci_sriov_pf_of(pci_physfn(vf));
	if (!pf)
		goto out;
	name = vfio_pci_sriov_drv_name(pf->pdev);
	if (action == BUS_NOTIFY_ADD_DEVICE) {
		ret = device_set_driver_override(&vf->dev, name);
		if (ret)
			pci_warn(vf, "vfio: cannot reserve this VF for %s: %d\n",
				 name, ret);
	} else if (strcmp(vfio_pci_sriov_drv_name(vf), name)) {
		pci_warn(vf, "vfio: VF bound to %s while its PF %s is bound to %s: no VF token guards it\n",
			 vfio_pci_sriov_drv_name(vf), pci_name(pf->pdev), name);
	}
out:
	mutex_unlock(&vfio_pci_sriov_lock);
	return NOTIFY_OK;
}

static struct notifier_block vfio_pci_sriov_nb = {
	.notifier_call = vfio_pci_sriov_bus_event,
};

int __init vfio_pci_sriov_init(void)
{
	return bus_register_notifier(&pci_bus_type, &vfio_pci_sriov_nb);
}

void vfio_pci_sriov_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &vfio_pci_sriov_nb);
}

/* From vfio_pci_core_init_dev(): every PF gets a token, random for now. */
int vfio_pci_sriov_init_dev(struct vfio_pci_core_device *core)
{
	struct vfio_pci_vf_token *token;

	INIT_LIST_HEAD(&core->sriov_entry);
	if (!core->pdev->is_physfn)
		return 0;

	token = kzalloc(sizeof(*token), GFP_KERNEL);
	if (!token)
		return -ENOMEM;
	mutex_init(&token->lock);
	uuid_gen(&token->uuid);
	core->vf_token = token;
	return 0;
}

void vfio_pci_sriov_release_dev(struct vfio_pci_core_device *core)
{
	struct vfio_pci_vf_token *token = core->vf_token;

	if (!token)
		return;
	/* VFs are disabled, so closed, before their PF is unregistered. */
	WARN_ON(token->users);
	mutex_destroy(&token->lock);
	kfree(token);
	core->vf_token = NULL;
}

/*
 * From vfio_pci_core_register_device(), before userspace can see the VF:
 * link it to its PF for good when the PF is ours.
 */
void vfio_pci_sriov_link(struct vfio_pci_core_device *core)
{
	if (!core->pdev->is_virtfn)
		return;
	mutex_lock(&vfio_pci_sriov_lock);
	core->sriov_pf = vfio_pci_sriov_pf_of(pci_physfn(core->pdev));
	mutex_unlock(&vfio_pci_sriov_lock);
}

/**
 * vfio_pci_sriov_count_user - count a VF's user with its PF, or stop
 * @core: the device, any; only VFs of our PFs are counted
 * @open: true when its first fd opened, false when its last one closed
 *
 * Called under dev_set->lock.  Counts once per open and once per close,
 * whichever steps of them a variant driver calls, so that the PF's count
 * can neither leak nor go negative.
 */
void vfio_pci_sriov_count_user(struct vfio_pci_core_device *core, bool open)
{
	struct vfio_pci_core_device *pf = core->sriov_pf;

	lockdep_assert_held(&core->vdev.dev_set->lock);
	if (!pf || core->sriov_counted == open)
		return;

	mutex_lock(&pf->vf_token->lock);
	if (open)
		pf->vf_token->users++;
	else if (!WARN_ON(!pf->vf_token->users))
		pf->vf_token->users--;
	mutex_unlock(&pf->vf_token->lock);
	core->sriov_counted = open;
}

/**
 * vfio_pci_sriov_token_check - apply the VF token rules to a lookup
 * @core: the device named
 * @uuid: the token given with the name, or NULL for none
 *
 * See the table at the top of this file.  A PF without VF users takes
 * @uuid as its new token.
 *
 * Return: 0 when the device may be opened, -EACCES or -EINVAL when not.
 */
int vfio_pci_sriov_token_check(struct vfio_pci_core_device *core,
			       const uuid_t *uuid)
{
	struct pci_dev *pdev = core->pdev;
	struct vfio_pci_vf_token *token;
	int ret = 0;

	if (pdev->is_virtfn) {
		if (!core->sriov_pf) {
			if (!uuid)
				return 0;
			pci_info_ratelimited(pdev, "vfio: a VF token was given, but this VF's PF is not owned through vfio\n");
			return -EINVAL;
		}
		token = core->sriov_pf->vf_token;
		if (!uuid) {
			pci_info_ratelimited(pdev, "vfio: the PF is owned through vfio; opening this VF takes its VF token\n");
			return -EACCES;
		}
		mutex_lock(&token->lock);
		if (!uuid_equal(uuid, &token->uuid))
			ret = -EACCES;
		mutex_unlock(&token->lock);
		if (ret)
			pci_info_ratelimited(pdev, "vfio: wrong VF token\n");
		return ret;
	}

	token = core->vf_token;
	if (!token) {
		if (!uuid)
			return 0;
		pci_info_ratelimited(pdev, "vfio: a VF token was given for a device that is neither a PF nor a VF\n");
		return -EINVAL;
	}

	mutex_lock(&token->lock);
	if (!token->users) {
		if (uuid)
			uuid_copy(&token->uuid, uuid);
	} else if (!uuid || !uuid_equal(uuid, &token->uuid)) {
		ret = -EACCES;
	}
	mutex_unlock(&token->lock);
	if (ret)
		pci_info_ratelimited(pdev, "vfio: VFs of this PF are in use; opening it takes their current VF token\n");
	return ret;
}

/**
 * vfio_pci_sriov_feature_token - VFIO_DEVICE_FEATURE_PCI_VF_TOKEN
 * @core: the device, open
 * @flags: the user's feature flags
 * @arg: the new token, 16 bytes
 * @argsz: the size of @arg
 *
 * Only SET: the token a previous user set is nobody else's business.  The
 * caller proved itself when it opened the PF.
 *
 * Return: 0 or a negative errno; -ENOTTY on a device that is not a PF.
 */
int vfio_pci_sriov_feature_token(struct vfio_pci_core_device *core, u32 flags,
				 void __user *arg, size_t argsz)
{
	struct vfio_pci_vf_token *token = core->vf_token;
	uuid_t uuid;
	int go;

	if (!token)
		return -ENOTTY;

	go = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET,
				sizeof(uuid));
	if (go <= 0)
		return go;
	if (copy_from_user(&uuid, arg, sizeof(uuid)))
		return -EFAULT;

	mutex_lock(&token->lock);
	uuid_copy(&token->uuid, &uuid);
	mutex_unlock(&token->lock);
	return 0;
}

static int vfio_pci_sriov_enable(struct vfio_pci_core_device *core,
				 int nr_virtfn)
{
	int ret;

	/* Listed first: the VFs probed by pci_enable_sriov() look for it. */
	mutex_lock(&vfio_pci_sriov_lock);
	if (!list_empty(&core->sriov_entry)) {
		mutex_unlock(&vfio_pci_sriov_lock);
		return -EINVAL;
	}
	list_add_tail(&core->sriov_entry, &vfio_pci_sriov_pfs);
	mutex_unlock(&vfio_pci_sriov_lock);

	/*
	 * VFs are set up and probed through the PF's SR-IOV capability:
	 * the PF must be awake, whether it idled or its user put it to
	 * sleep, and stay so until they exist.
	 */
	vfio_pci_hold_d0(core, true);
	ret = pci_enable_sriov(core->pdev, nr_virtfn);
	vfio_pci_hold_d0(core, false);
	if (!ret)
		return nr_virtfn;

	mutex_lock(&vfio_pci_sriov_lock);
	list_del_init(&core->sriov_entry);
	mutex_unlock(&vfio_pci_sriov_lock);
	return ret;
}

static void vfio_pci_sriov_disable(struct vfio_pci_core_device *core)
{
	bool listed;

	mutex_lock(&vfio_pci_sriov_lock);
	listed = !list_empty(&core->sriov_entry);
	mutex_unlock(&vfio_pci_sriov_lock);
	if (!listed)
		return;

	/*
	 * Removes the VFs: each waits, asking through its REQ interrupt,
	 * until its user lets go.  Only then is the PF unlisted, so that no
	 * VF ever outlives the PF it is linked to.
	 */
	pci_disable_sriov(core->pdev);

	mutex_lock(&vfio_pci_sriov_lock);
	list_del_init(&core->sriov_entry);
	mutex_unlock(&vfio_pci_sriov_lock);

	/* Nothing keeps an unused PF awake any more. */
	vfio_pci_hold_d0(core, false);
}

/**
 * vfio_pci_core_sriov_configure - pci_driver.sriov_configure for a PF
 * @core: the PF, registered
 * @nr_virtfn: how many VFs to enable, or 0 to disable them
 *
 * Called by the PCI core for writes to sysfs sriov_numvfs, and by
 * vfio_pci_core_unregister_device() with 0, under the PF's device lock.
 * The bus driver decides whether its users may have VFs at all (vfio-pci's
 * enable_sriov option).  VFs created here are reserved for the PF's driver
 * and need the PF's VF token to be opened.  Disabling waits until every VF
 * is closed; their users are asked to close through the REQ interrupt.
 *
 * Return: @nr_virtfn when enabled, 0 when disabled, or a negative errno:
 * -EINVAL while the PF is already being given VFs.
 */
int vfio_pci_core_sriov_configure(struct vfio_pci_core_device *core,
				  int nr_virtfn)
{
	device_lock_assert(&core->pdev->dev);

	if (nr_virtfn)
		return vfio_pci_sriov_enable(core, nr_virtfn);
	vfio_pci_sriov_disable(core);
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_pci_core_sriov_configure);
