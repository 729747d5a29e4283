// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's use of vfio: the KVM-VFIO pseudo device (KVM_DEV_TYPE_VFIO) of a
 * real VM, given the edu's group (bound to vfio-pci, in a type1 container).
 * KVM reaches vfio only through the vfio_file_* exports it looks up with
 * symbol_get(); every errno asserted here comes from KVM's side of that
 * contract and is the one upstream 6.12 gives with its own vfio modules,
 * so the program passes unchanged on VFIO_MODULES=distro.
 *
 * What vfio does with what KVM tells it is not visible through any ioctl:
 * the tests that look at it trace the calls across the boundary with
 * kprobe events (tracefs, root only, nothing new exposed):
 *   - the group is told its KVM (vfio_file_set_kvm) on add and forgets it
 *     on del and on VM release;
 *   - a device opened while its group knows a KVM takes a reference on
 *     that KVM (kvm_get_kvm_safe) for the time it is open, dropped on the
 *     last close (kvm_put_kvm): this is how the device "sees" the KVM;
 *   - KVM asks whether the group's DMA is cache coherent
 *     (vfio_file_enforced_coherent), and registers non-coherent DMA with
 *     the VM (kvm_arch_register_noncoherent_dma) when the answer is no.
 *     Nothing a user can read shows the VM's non-coherent state on AMD
 *     (it only decides whether a guest WBINVD is carried out, and on
 *     Intel EPT whether guest PAT is honoured): the calls are the only
 *     place it can be seen.
 *
 * Runs in the KVM boot only (make check PROFILE=kvm): /dev/kvm exists
 * there; elsewhere every test SKIPs.
 */
#include <linux/kvm.h>

#include "vfio_test_util.h"

/* 6.5 renamed the group attributes; linux-libc-dev may predate that. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE	1
#define KVM_DEV_VFIO_FILE_ADD	1
#define KVM_DEV_VFIO_FILE_DEL	2
#endif

#define KVM_PATH		"/dev/kvm"
#define TRACE_DIR		"/sys/kernel/debug/tracing"
#define TRACE_GROUP		"vfio_kvm_test"

/* ---- the VM and its KVM-VFIO device ----------------------------------- */

static int kvm_vfio_attr(int dev, unsigned long req, __u64 group, __u64 attr,
			 int *fdp)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (__u64)(uintptr_t)fdp,
	};

	return ioctl(dev, req, &a) ? errno : 0;
}

static int kvm_vfio_file(int dev, __u64 op, int fd)
{
	return kvm_vfio_attr(dev, KVM_SET_DEVICE_ATTR, KVM_DEV_VFIO_FILE, op,
			     &fd);
}

#define kvm_vfio_add(dev, fd) \
	ASSERT_EQ(0, kvm_vfio_file(dev, KVM_DEV_VFIO_FILE_ADD, fd))
#define kvm_vfio_add_err(err, dev, fd) \
	ASSERT_EQ(err, kvm_vfio_file(dev, KVM_DEV_VFIO_FILE_ADD, fd))
#define kvm_vfio_del(dev, fd) \
	ASSERT_EQ(0, kvm_vfio_file(dev, KVM_DEV_VFIO_FILE_DEL, fd))
#define kvm_vfio_del_err(err, dev, fd) \
	ASSERT_EQ(err, kvm_vfio_file(dev, KVM_DEV_VFIO_FILE_DEL, fd))

/* A VM and its KVM-VFIO device; 0 or the errno of the step that failed. */
static int kvm_vfio_create(int kvm, int *vm, int *dev)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	*dev = -1;
	*vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (*vm < 0)
		return errno;
	if (ioctl(*vm, KVM_CREATE_DEVICE, &cd))
		return errno;
	*dev = cd.fd;
	return 0;
}

/* ---- kprobe events on the vfio <-> KVM calls -------------------------- */

/*
 * x86-64 passes the first two arguments in rdi and rsi.  vfio_file_set_kvm
 * (file, kvm); kvm_get_kvm_safe(kvm) and kvm_put_kvm(kvm), both in kvm.ko,
 * are what vfio uses to hold the KVM for an open device.
 */
static const char *const probes[] = {
	"p:" TRACE_GROUP "/set_kvm vfio_file_set_kvm kvm=%si:x64",
	"p:" TRACE_GROUP "/get_kvm kvm_get_kvm_safe kvm=%di:x64",
	"p:" TRACE_GROUP "/put_kvm kvm_put_kvm kvm=%di:x64",
	"r:" TRACE_GROUP "/coherent vfio_file_enforced_coherent ret=$retval:u8",
	"p:" TRACE_GROUP "/nc_reg kvm_arch_register_noncoherent_dma kvm=%di:x64",
	"p:" TRACE_GROUP "/nc_unreg kvm_arch_unregister_noncoherent_dma kvm=%di:x64",
};

static const char *const probe_names[] = {
	"set_kvm", "get_kvm", "put_kvm", "coherent", "nc_reg", "nc_unreg",
};

static int trace_write(const char *file, const char *val, bool append)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TRACE_DIR "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? errno : 0;
}

static void trace_stop(void)
{
	char def[64];

	trace_write("events/" TRACE_GROUP "/enable", "0", false);
	for (unsigned int i = 0; i < ARRAY_SIZE(probe_names); i++) {
		snprintf(def, sizeof(def), "-:" TRACE_GROUP "/%s\n",
			 probe_names[i]);
		trace_write("kprobe_events", def, true);
	}
}

/* NULL, or why the calls cannot be traced here. */
static const char *trace_start(void)
{
	char def[256];

#ifndef __x86_64__
	return "the kprobe arguments are x86-64 registers";
#endif
	if (access(TRACE_DIR "/kprobe_events", W_OK))
		return "no kprobe events (tracefs under debugfs)";
	trace_stop();
	for (unsigned int i = 0; i < ARRAY_SIZE(probes); i++) {
		snprintf(def, sizeof(def), "%s\n", probes[i]);
		if (trace_write("kprobe_events", def, true)) {
			trace_stop();
			return "cannot add a kprobe";
		}
	}
	if (trace_write("trace", "", false) ||
	    trace_write("events/" TRACE_GROUP "/enable", "1", false) ||
	    trace_write("tracing_on", "1", false)) {
		trace_stop();
		return "cannot enable the kprobes";
	}
	return NULL;
}

/* One traced call: its probe's index in probes[] and its one value. */
struct call {
	int probe;
	unsigned long val;
};

#define MAX_CALLS	64

/* The calls traced since the last trace_clear(), in order. */
static int trace_calls(struct call *calls, int max)
{
	char line[512], pat[32];
	FILE *fp;
	int n = 0;

	fp = fopen(TRACE_DIR "/trace", "r");
	if (!fp)
		return -1;
	while (n < max && fgets(line, sizeof(line), fp)) {
		if (line[0] == '#')
			continue;
		for (unsigned int i = 0; i < ARRAY_SIZE(probe_names); i++) {
			char *p;

			snprintf(pat, sizeof(pat), " %s: (", probe_names[i]);
			p = strstr(line, pat);
			if (!p)
				continue;
			p = strchr(p, '=');
			calls[n].probe = i;
			calls[n].val = p ? strtoul(p + 1, NULL, 0) : 0;
			n++;
			break;
		}
	}
	fclose(fp);
	return n;
}

static void trace_clear(void)
{
	trace_write("trace", "", false);
}

/* How many of @calls are of @probe, with value @val (any if @val is -1). */
static int count(const struct call *calls, int n, const char *probe,
		 unsigned long val)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(probe_names[calls[i].probe], probe) &&
		    (val == -1UL || calls[i].val == val))
			c++;
	return c;
}

/* The KVM pointer the last traced vfio_file_set_kvm() gave, or 0. */
static unsigned long last_set_kvm(const struct call *calls, int n)
{
	unsigned long kvm = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(probe_names[calls[i].probe], "set_kvm"))
			kvm = calls[i].val;
	return kvm;
}

static void dump_calls(struct __test_metadata *_metadata,
		       const struct call *calls, int n)
{
	for (int i = 0; i < n; i++)
		TH_LOG("traced: %s %#lx", probe_names[calls[i].probe],
		       calls[i].val);
}

/* ---- the fixture: edu's group in a type1 container, a VM -------------- */

/*
 * A device fd a test opens is kept in dfd, for the teardown to close: a
 * device left open would keep vfio-pci's unbind waiting for ever.
 */
FIXTURE(kvm_vfio)
{
	struct vfio_test_dev dev;
	int kvm, vm, kdev, dfd;
};

FIXTURE_SETUP(kvm_vfio)
{
	self->kvm = -1;
	self->vm = -1;
	self->kdev = -1;
	self->dfd = -1;
	vfio_test_dev_init(&self->dev);
	self->kvm = open(KVM_PATH, O_RDWR | O_CLOEXEC);
	if (self->kvm < 0)
		SKIP(return, "no %s: the KVM boot (PROFILE=kvm) has it",
		     KVM_PATH);
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_IOMMU);
	ASSERT_EQ(0, kvm_vfio_create(self->kvm, &self->vm, &self->kdev));
}

FIXTURE_TEARDOWN(kvm_vfio)
{
	vfio_close_fd(&self->dfd);
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	vfio_close_fd(&self->kvm);
	/* The VM held the group file; it is released by now. */
	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
}

/* What KVM_HAS_DEVICE_ATTR says the device supports: ADD and DEL. */
TEST_F(kvm_vfio, has_attr_add_and_del_only)
{
	int fd = -1;

	ASSERT_EQ(0, kvm_vfio_attr(self->kdev, KVM_HAS_DEVICE_ATTR,
				   KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD,
				   &fd));
	ASSERT_EQ(0, kvm_vfio_attr(self->kdev, KVM_HAS_DEVICE_ATTR,
				   KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_DEL,
				   &fd));
	/* SPAPR TCE (3) is PowerPC only. */
	ASSERT_EQ(ENXIO, kvm_vfio_attr(self->kdev, KVM_HAS_DEVICE_ATTR,
				       KVM_DEV_VFIO_FILE, 3, &fd));
	ASSERT_EQ(ENXIO, kvm_vfio_attr(self->kdev, KVM_HAS_DEVICE_ATTR,
				       2, KVM_DEV_VFIO_FILE_ADD, &fd));
	ASSERT_EQ(ENXIO, kvm_vfio_attr(self->kdev, KVM_SET_DEVICE_ATTR,
				       KVM_DEV_VFIO_FILE, 3, &fd));
}

/* One KVM-VFIO device per VM. */
TEST_F(kvm_vfio, second_device_is_ebusy)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	ASSERT_EQ(-1, ioctl(self->vm, KVM_CREATE_DEVICE, &cd));
	ASSERT_EQ(EBUSY, errno);
}

TEST_F(kvm_vfio, add_then_del)
{
	kvm_vfio_add(self->kdev, self->dev.group);
	kvm_vfio_del(self->kdev, self->dev.group);
	/* Gone: a second DEL finds nothing. */
	kvm_vfio_del_err(ENOENT, self->kdev, self->dev.group);
	/* And it can be added again. */
	kvm_vfio_add(self->kdev, self->dev.group);
	kvm_vfio_del(self->kdev, self->dev.group);
}

TEST_F(kvm_vfio, add_twice_is_eexist)
{
	int dup_fd;

	kvm_vfio_add(self->kdev, self->dev.group);
	kvm_vfio_add_err(EEXIST, self->kdev, self->dev.group);
	/* A dup()ed fd is the same file. */
	dup_fd = dup(self->dev.group);
	ASSERT_LE(0, dup_fd);
	kvm_vfio_add_err(EEXIST, self->kdev, dup_fd);
	kvm_vfio_del(self->kdev, dup_fd);
	close(dup_fd);
	kvm_vfio_del_err(ENOENT, self->kdev, self->dev.group);
}

TEST_F(kvm_vfio, del_of_never_added_group_is_enoent)
{
	kvm_vfio_del_err(ENOENT, self->kdev, self->dev.group);
}

/* Files that are not vfio's: the container included. */
TEST_F(kvm_vfio, add_of_non_vfio_fd_is_einval)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, null);
	ASSERT_LE(0, efd);
	kvm_vfio_add_err(EINVAL, self->kdev, null);
	kvm_vfio_add_err(EINVAL, self->kdev, efd);
	kvm_vfio_add_err(EINVAL, self->kdev, self->dev.container);
	kvm_vfio_add_err(EINVAL, self->kdev, self->vm);
	/* DEL does not look at the file's kind: it is just not there. */
	kvm_vfio_del_err(ENOENT, self->kdev, null);
	close(efd);
	close(null);
}

/*
 * A device fd is a vfio file too: KVM takes one from the group as it takes
 * the group, and a vfio-pci device fd is as coherent as its group.
 */
TEST_F(kvm_vfio, add_of_group_device_fd)
{
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	kvm_vfio_add(self->kdev, self->dfd);
	kvm_vfio_add_err(EEXIST, self->kdev, self->dfd);
	/* Its group is another file. */
	kvm_vfio_add(self->kdev, self->dev.group);
	kvm_vfio_del(self->kdev, self->dfd);
	kvm_vfio_del_err(ENOENT, self->kdev, self->dfd);
	kvm_vfio_del(self->kdev, self->dev.group);
	/*
	 * Held by the VM after the user closed it; the VM lets it go (or
	 * the teardown's unbind would wait).
	 */
	kvm_vfio_add(self->kdev, self->dfd);
	vfio_close_fd(&self->dfd);
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
}

TEST_F(kvm_vfio, add_of_device_cdev)
{
	SKIP(return,
	     "/dev/vfio/devices needs iommufd (CONFIG_VFIO_DEVICE_CDEV), which neither the distro nor this series has");
}

TEST_F(kvm_vfio, closed_fd_is_ebadf)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	close(fd);
	kvm_vfio_add_err(EBADF, self->kdev, fd);
	kvm_vfio_del_err(EBADF, self->kdev, fd);
	kvm_vfio_add_err(EBADF, self->kdev, -1);
}

/* KVM's reference keeps the group file open: nobody else opens it. */
TEST_F(kvm_vfio, group_closed_first_stays_held_by_kvm)
{
	int fd;

	kvm_vfio_add(self->kdev, self->dev.group);
	vfio_close_fd(&self->dev.group);
	vfio_group_open_err(EBUSY, self->dev.group_id);
	/*
	 * KVM's vfio device is released with its own fd, not with the VM:
	 * that lets the group go.
	 */
	vfio_close_fd(&self->kdev);
	vfio_group_open(self->dev.group_id, &fd);
	close(fd);
}

/* The VM goes with the group still added: the group lives on, usable. */
TEST_F(kvm_vfio, vm_closed_with_group_added)
{
	kvm_vfio_add(self->kdev, self->dev.group);
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	vfio_close_fd(&self->dfd);
	/* A new VM takes it. */
	ASSERT_EQ(0, kvm_vfio_create(self->kvm, &self->vm, &self->kdev));
	kvm_vfio_add(self->kdev, self->dev.group);
}

/* One group in two VMs at once: each keeps its own reference. */
TEST_F(kvm_vfio, group_in_two_vms)
{
	int vm2, kdev2;

	ASSERT_EQ(0, kvm_vfio_create(self->kvm, &vm2, &kdev2));
	kvm_vfio_add(self->kdev, self->dev.group);
	kvm_vfio_add(kdev2, self->dev.group);
	close(kdev2);
	close(vm2);
	kvm_vfio_del(self->kdev, self->dev.group);
}

/* A device open with its group in the VM, the VM closed first. */
TEST_F(kvm_vfio, vm_closed_while_device_open)
{
	struct vfio_device_info info;

	kvm_vfio_add(self->kdev, self->dev.group);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	vfio_device_get_info(self->dfd, &info);
	vfio_close_fd(&self->dfd);
}

/* ---- what crosses the boundary, traced -------------------------------- */

FIXTURE(kvm_vfio_trace)
{
	struct vfio_test_dev dev;
	int kvm, vm, kdev, dfd;
	const char *no_trace;
};

FIXTURE_SETUP(kvm_vfio_trace)
{
	self->kvm = -1;
	self->vm = -1;
	self->kdev = -1;
	self->dfd = -1;
	self->no_trace = "not set up";
	vfio_test_dev_init(&self->dev);
	self->kvm = open(KVM_PATH, O_RDWR | O_CLOEXEC);
	if (self->kvm < 0)
		SKIP(return, "no %s: the KVM boot (PROFILE=kvm) has it",
		     KVM_PATH);
	vfio_test_dev_open(_metadata, &self->dev, TB_EDU_BDF,
			   VFIO_STAGE_IOMMU);
	ASSERT_EQ(0, kvm_vfio_create(self->kvm, &self->vm, &self->kdev));
	self->no_trace = trace_start();
	if (self->no_trace)
		SKIP(return, "%s", self->no_trace);
}

FIXTURE_TEARDOWN(kvm_vfio_trace)
{
	if (!self->no_trace)
		trace_stop();
	vfio_close_fd(&self->dfd);
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	vfio_close_fd(&self->kvm);
	if (self->dev.bdf)
		vfio_test_dev_close(_metadata, &self->dev);
}

/* ADD tells the group its KVM, DEL tells it to forget (NULL). */
TEST_F(kvm_vfio_trace, group_is_told_its_kvm)
{
	struct call c[MAX_CALLS];
	unsigned long kvm;
	int n;

	kvm_vfio_add(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	kvm = last_set_kvm(c, n);
	ASSERT_NE(0, kvm);
	ASSERT_EQ(1, count(c, n, "set_kvm", -1UL));

	trace_clear();
	kvm_vfio_del(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "set_kvm", 0));
	ASSERT_EQ(1, count(c, n, "set_kvm", -1UL));

	/* Released with the VM: the group forgets it then too. */
	kvm_vfio_add(self->kdev, self->dev.group);
	trace_clear();
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "set_kvm", 0));
}

/*
 * The device sees the KVM: opened while its group is in a VM, it holds a
 * reference on that VM's KVM until its last close; opened outside any VM
 * it takes none.
 */
TEST_F(kvm_vfio_trace, open_device_holds_the_kvm)
{
	struct call c[MAX_CALLS];
	unsigned long kvm;
	int n;

	kvm_vfio_add(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	kvm = last_set_kvm(c, n);
	ASSERT_NE(0, kvm);

	trace_clear();
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "get_kvm", kvm));
	ASSERT_EQ(0, count(c, n, "put_kvm", kvm));

	trace_clear();
	vfio_close_fd(&self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "put_kvm", kvm));

	/* Out of the VM: no KVM to hold. */
	kvm_vfio_del(self->kdev, self->dev.group);
	trace_clear();
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	vfio_close_fd(&self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(0, count(c, n, "get_kvm", -1UL));
}

/* The VM closed while the device is open: the device keeps the KVM. */
TEST_F(kvm_vfio_trace, open_device_outlives_the_vm_fd)
{
	struct call c[MAX_CALLS];
	unsigned long kvm;
	int n;

	kvm_vfio_add(self->kdev, self->dev.group);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	n = trace_calls(c, MAX_CALLS);
	kvm = last_set_kvm(c, n);
	ASSERT_NE(0, kvm);
	ASSERT_EQ(1, count(c, n, "get_kvm", kvm));

	trace_clear();
	vfio_close_fd(&self->kdev);
	vfio_close_fd(&self->vm);
	vfio_close_fd(&self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	/* The device's put, after the group was told to forget. */
	ASSERT_EQ(1, count(c, n, "set_kvm", 0));
	ASSERT_LE(1, count(c, n, "put_kvm", kvm));
}

/*
 * Enforced coherency, as KVM asks for it on every add and del, has the
 * container's answer (VFIO_DMA_CC_IOMMU).  The test bed's vIOMMU (QEMU's
 * intel-iommu, no snoop control) cannot enforce it, so the group answers
 * no and KVM registers non-coherent DMA with the VM, and unregisters it on
 * del; the asserts follow the container's answer, whatever it is.
 */
TEST_F(kvm_vfio_trace, coherency_as_kvm_sees_it)
{
	struct call c[MAX_CALLS];
	int n, cc;

	cc = vfio_check_extension(self->dev.container, VFIO_DMA_CC_IOMMU);
	ASSERT_LE(0, cc);
	TH_LOG("container: VFIO_DMA_CC_IOMMU %d", cc);

	kvm_vfio_add(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "coherent", -1UL));
	ASSERT_EQ(1, count(c, n, "coherent", cc));
	ASSERT_EQ(!cc, count(c, n, "nc_reg", -1UL));

	trace_clear();
	kvm_vfio_del(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(!cc, count(c, n, "nc_unreg", -1UL));
}

/*
 * A group in no container has no domain yet: the answer is the IOMMU's
 * for the group's devices, the same as the container's here.
 */
TEST_F(kvm_vfio_trace, coherency_of_group_without_container)
{
	struct call c[MAX_CALLS];
	int n, cc;

	cc = vfio_check_extension(self->dev.container, VFIO_DMA_CC_IOMMU);
	ASSERT_LE(0, cc);
	vfio_group_unset_container(self->dev.group);
	trace_clear();
	kvm_vfio_add(self->kdev, self->dev.group);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "coherent", cc));
	ASSERT_EQ(!cc, count(c, n, "nc_reg", -1UL));
}

/* A device fd answers as its group does, and is told the KVM too. */
TEST_F(kvm_vfio_trace, coherency_of_device_fd)
{
	struct call c[MAX_CALLS];
	int n, cc;

	cc = vfio_check_extension(self->dev.container, VFIO_DMA_CC_IOMMU);
	ASSERT_LE(0, cc);
	vfio_group_get_device_fd(self->dev.group, TB_EDU_BDF, &self->dfd);
	trace_clear();
	kvm_vfio_add(self->kdev, self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "coherent", cc));
	ASSERT_EQ(!cc, count(c, n, "nc_reg", -1UL));
	ASSERT_NE(0, last_set_kvm(c, n));
	trace_clear();
	kvm_vfio_del(self->kdev, self->dfd);
	n = trace_calls(c, MAX_CALLS);
	dump_calls(_metadata, c, n);
	ASSERT_EQ(1, count(c, n, "set_kvm", 0));
}

TEST_HARNESS_MAIN
