// SPDX-License-Identifier: GPL-2.0-only
/*
 * A private pseudo filesystem that gives every vfio_device an inode.
 *
 * Device files are created on that inode, so all of them share its
 * address_space.  A bus driver that must take BAR mappings away (memory
 * decode turned off, a reset) then reaches every mapping of every file of
 * the device with one unmap_mapping_range().  The filesystem is mounted
 * internally while at least one inode exists.
 */
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
 * vfio_fs_file_new - open a file on a device inode
 * @inode: from vfio_fs_inode_new(); the file takes its own reference
 * @fops: file operations
 * @private_data: stored in file->private_data
 *
 * Return: a read/write file whose f_mapping is @inode's, or an ERR_PTR().
 */
struct file *vfio_fs_file_new(struct inode *inode,
			      const struct file_operations *fops,
			      void *private_data)
{
	struct file *file;

	/*
	 * alloc_file_pseudo() does not pin fops->owner the way open(2) does,
	 * but fput() will drop it.  Our caller runs inside this module.
	 */
	__module_get(fops->owner);
	ihold(inode);
	file = alloc_file_pseudo(inode, vfio_fs_mnt, "[vfio-device]", O_RDWR,
				 fops);
	if (IS_ERR(file)) {
		iput(inode);
		module_put(fops->owner);
		return file;
	}
	file->private_data = private_data;
	return file;
}
