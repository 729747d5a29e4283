// SPDX-License-Identifier: GPL-2.0-only
/*
 * A private pseudo filesystem that gives every vfio_device an inode.
 *
 * Device files take that inode's address_space as their f_mapping, so all of
 * them share it.  A bus driver that must take BAR mappings away (memory
 * decode turned off, a reset) then reaches every mapping of every file of
 * the device with one unmap_mapping_range().  The filesystem is mounted
 * internally while at least one inode exists.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>

#include "vfio.h"

/* "vfio" in ASCII; only used to tell our superblock apart. */
#define VFIO_FS_MAGIC	0x7666696f

static struct vfsmount *vfio_fs_mnt;
static int vfio_fs_users;

static int vfio_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VFIO_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type vfio_fs_type = {
	.name		 = "vfio",
	.owner		 = THIS_MODULE,
	.init_fs_context = vfio_fs_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

/**
 * vfio_fs_inode_new - create the inode of a new device
 *
 * Return: the inode or an ERR_PTR(); undo with vfio_fs_inode_put().
 */
struct inode *vfio_fs_inode_new(void)
{
	struct inode *inode;
	int ret;

	ret = simple_pin_fs(&vfio_fs_type, &vfio_fs_mnt, &vfio_fs_users);
	if (ret)
		return ERR_PTR(ret);

	inode = alloc_anon_inode(vfio_fs_mnt->mnt_sb);
	if (IS_ERR(inode))
		simple_release_fs(&vfio_fs_mnt, &vfio_fs_users);
	return inode;
}

/**
 * vfio_fs_inode_put - drop the inode of a device
 * @inode: from vfio_fs_inode_new()
 */
void vfio_fs_inode_put(struct inode *inode)
{
	iput(inode);
	simple_release_fs(&vfio_fs_mnt, &vfio_fs_users);
}

/**
 * vfio_fs_file_new - open a file whose mappings land in a device inode
 * @inode: from vfio_fs_inode_new(); it must outlive the file, which the
 *         device's registration reference held by the file ensures
 * @fops: file operations
 * @private_data: stored in file->private_data
 *
 * The file itself is an anonymous-inode file named "[vfio-device]", as
 * users see device files in /proc/PID/fd and lsof, but its f_mapping is
 * @inode's: every mmap() of every file of the device is in one
 * address_space, for unmap_mapping_range().
 *
 * Return: a read/write file, or an ERR_PTR().
 */
struct file *vfio_fs_file_new(struct inode *inode,
			      const struct file_operations *fops,
			      void *private_data)
{
	struct file *file;

	/* Takes its own reference on fops->owner, as open(2) would. */
	file = anon_inode_getfile("[vfio-device]", fops, private_data, O_RDWR);
	if (IS_ERR(file))
		return file;
	file->f_mapping = inode->i_mapping;
	return file;
}
