// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_test_hold: lets the vfio selftests take and drop the group holds
 * that kernel users of VFIO take (vfio_group_hold_file(),
 * vfio_group_hold_dev(), vfio_group_unhold()), so that the rules around
 * them can be tested from userspace.  For the test image only.
 *
 * /sys/kernel/debug/vfio_test_hold/ctl, one command per write:
 *
 *   file FD      hold the group of the writer's group file FD
 *   dev NAME     hold the group of PCI device NAME (e.g. 0000:00:03.0)
 *   put          drop the newest hold
 *
 * A write returns its length, or the error of the hold.  Reading gives the
 * number of holds.  Unloading the module drops them all.
 */
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

struct test_hold {
	struct list_head next;
	struct vfio_group *group;
};

static DEFINE_MUTEX(test_holds_lock);
static LIST_HEAD(test_holds);
static unsigned int test_holds_nr;
static struct dentry *test_dir;

static struct vfio_group *test_hold_by_fd(const char *arg)
{
	struct vfio_group *group;
	struct file *file;
	int fd;

	if (kstrtoint(arg, 10, &fd))
		return ERR_PTR(-EINVAL);
	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	group = vfio_group_hold_file(file);
	fput(file);
	return group;
}

static struct vfio_group *test_hold_by_name(const char *arg)
{
	struct vfio_group *group;
	struct device *dev;

	dev = bus_find_device_by_name(&pci_bus_type, NULL, arg);
	if (!dev)
		return ERR_PTR(-ENODEV);
	group = vfio_group_hold_dev(dev);
	put_device(dev);
	return group;
}

static int test_hold_add(struct vfio_group *group)
{
	struct test_hold *hold;

	if (IS_ERR(group))
		return PTR_ERR(group);
	hold = kzalloc(sizeof(*hold), GFP_KERNEL);
	if (!hold) {
		vfio_group_unhold(group);
		return -ENOMEM;
	}
	hold->group = group;
	mutex_lock(&test_holds_lock);
	list_add(&hold->next, &test_holds);
	test_holds_nr++;
	mutex_unlock(&test_holds_lock);
	return 0;
}

static int test_hold_put(void)
{
	struct test_hold *hold;

	mutex_lock(&test_holds_lock);
	hold = list_first_entry_or_null(&test_holds, struct test_hold, next);
	if (hold) {
		list_del(&hold->next);
		test_holds_nr--;
	}
	mutex_unlock(&test_holds_lock);
	if (!hold)
		return -ENOENT;
	/* Outside our lock: it may detach the group from its container. */
	vfio_group_unhold(hold->group);
	kfree(hold);
	return 0;
}

static ssize_t test_ctl_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char buf[64], *arg;
	int ret;

	if (!count || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	arg = strim(buf);

	if (!strncmp(arg, "file ", 5))
		ret = test_hold_add(test_hold_by_fd(skip_spaces(arg + 5)));
	else if (!strncmp(arg, "dev ", 4))
		ret = test_hold_add(test_hold_by_name(skip_spaces(arg + 4)));
	else if (!strcmp(arg, "put"))
		ret = test_hold_put();
	else
		ret = -EINVAL;
	return ret ? ret : count;
}

static ssize_t test_ctl_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[16];
	int len;

	mutex_lock(&test_holds_lock);
	len = scnprintf(buf, sizeof(buf), "%u\n", test_holds_nr);
	mutex_unlock(&test_holds_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations test_ctl_fops = {
	.owner	= THIS_MODULE,
	.write	= test_ctl_write,
	.read	= test_ctl_read,
	.llseek	= default_llseek,
};

static int __init test_hold_init(void)
{
	test_dir = debugfs_create_dir("vfio_test_hold", NULL);
	debugfs_create_file("ctl", 0600, test_dir, NULL, &test_ctl_fops);
	return 0;
}
module_init(test_hold_init);

static void __exit test_hold_exit(void)
{
	debugfs_remove_recursive(test_dir);
	while (!test_hold_put())
		;
}
module_exit(test_hold_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio selftests: take and drop kernel holds on vfio groups");
