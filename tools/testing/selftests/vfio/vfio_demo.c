// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_demo - open a PCI device through VFIO and print what it exposes.
 *
 *   vfio_demo 0000:00:03.0
 *   vfio_demo --vf-token 0000:00:06.0 0000:00:06.1
 *
 * The device must already be bound to vfio-pci.  The program goes the way
 * every VFIO user goes: container, group, IOMMU model, device fd, then the
 * device's regions and interrupts, and prints each answer as a table.  It
 * only uses <linux/vfio.h>; build it with
 *
 *   gcc -static -O2 -Wall -Wextra -I include/uapi -o vfio_demo vfio_demo.c
 *
 * Each step is a function over struct demo, listed in demo_steps[]; later
 * steps (DMA mapping, interrupts) slot in at the end of that table.  A step
 * that fails prints what it was doing and why, and the program exits 1
 * after closing what it opened.
 *
 * With --vf-token it shows SR-IOV instead, on a PF bound to vfio-pci and
 * one of its VFs (vfio-pci loaded with enable_sriov=1, VFs enabled through
 * the PF's sriov_numvfs): the PF's user sets a VF token, and the VF opens
 * only for whoever presents it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Bounds any capability chain walk, whatever the kernel returns. */
#define DEMO_MAX_CAPS	64

struct demo {
	char bdf[32];			/* full address, e.g. 0000:00:03.0 */
	char group_path[PATH_MAX];	/* /dev/vfio/N or /dev/vfio/noiommu-N */
	int group_id;
	bool noiommu;
	int container;
	int group;
	int device;
	int iommu_type;			/* what VFIO_SET_IOMMU accepted */
	struct vfio_device_info *info;	/* with its capability chain */
};

static int fail(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "vfio_demo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	return -1;
}

/* Same, for failures that have no errno behind them. */
static int fail_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfio_demo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* ---------------------------- formatting ---------------------------- */

struct flag_name {
	unsigned long long bit;
	const char *name;
};

/* "name name name" for the bits set in @flags, unknown bits in hex. */
static const char *flag_str(unsigned long long flags,
			    const struct flag_name *names, size_t n,
			    char *buf, size_t len)
{
	size_t used = 0;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!(flags & names[i].bit))
			continue;
		used += snprintf(buf + used, len - used, "%s%s",
				 used ? " " : "", names[i].name);
		flags &= ~names[i].bit;
		if (used >= len)
			return buf;
	}
	if (flags)
		snprintf(buf + used, len - used, "%s0x%llx", used ? " " : "",
			 flags);
	else if (!used)
		snprintf(buf, len, "-");
	return buf;
}

/* A byte count as "4K", "1M", "1.5G", or plain bytes below 1K. */
static const char *human(unsigned long long v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	unsigned int u = 0;
	unsigned long long scale = 1024;

	if (v < 1024) {
		snprintf(buf, len, "%llu", v);
		return buf;
	}
	while (u + 1 < sizeof(units) - 1 && v >= scale * 1024) {
		scale *= 1024;
		u++;
	}
	if (v % scale)
		snprintf(buf, len, "%.1f%c", (double)v / (double)scale, units[u]);
	else
		snprintf(buf, len, "%llu%c", v / scale, units[u]);
	return buf;
}

/* ------------------------- ioctl helpers ---------------------------- */

/*
 * Issue an info request whose structure may be followed by a capability
 * chain.  @tmpl holds the input fields (argsz is set here); when the
 * kernel answers with a larger argsz the request is repeated with a
 * buffer of that size.  Returns a malloc()ed copy of the answer, or NULL
 * with errno set.
 */
static void *info_query(int fd, unsigned long request, const char *what,
			const void *tmpl, size_t size)
{
	size_t len = size;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		__u32 *buf = calloc(1, len);

		if (!buf) {
			fail("%s: out of memory", what);
			return NULL;
		}
		memcpy(buf, tmpl, size);
		buf[0] = (__u32)len;	/* every info struct opens with argsz */
		if (ioctl(fd, request, buf)) {
			fail("%s", what);
			free(buf);
			return NULL;
		}
		if (buf[0] <= len)
			return buf;
		len = buf[0];
		free(buf);
	}
	fail_msg("%s: argsz did not settle", what);
	return NULL;
}

/*
 * Walks the capability chain of an info buffer.  Offsets are checked
 * against the buffer: a capability must start after the fixed part and
 * its header must fit inside what the kernel said it filled in (argsz).
 */
struct cap_iter {
	const char *buf;
	size_t len;
	size_t fixed;
	int count;
};

static const struct vfio_info_cap_header *cap_at(struct cap_iter *it,
						 __u32 offset)
{
	if (offset < it->fixed || offset > it->len ||
	    it->len - offset < sizeof(struct vfio_info_cap_header) ||
	    it->count++ >= DEMO_MAX_CAPS)
		return NULL;
	return (const void *)(it->buf + offset);
}

static const struct vfio_info_cap_header *
cap_first(struct cap_iter *it, const void *info, size_t fixed, __u32 offset)
{
	it->buf = info;
	it->len = *(const __u32 *)info;		/* argsz */
	it->fixed = fixed;
	it->count = 0;
	return cap_at(it, offset);
}

static const struct vfio_info_cap_header *
cap_next(struct cap_iter *it, const struct vfio_info_cap_header *cap)
{
	return cap_at(it, cap->next);
}

/* The end of the valid data of the buffer being walked. */
static const char *cap_end(const struct cap_iter *it)
{
	return it->buf + it->len;
}

/* --------------------------- container ------------------------------ */

static const struct {
	int id;
	const char *name;
} extensions[] = {
	{ VFIO_TYPE1_IOMMU, "TYPE1" },
	{ VFIO_SPAPR_TCE_IOMMU, "SPAPR_TCE" },
	{ VFIO_TYPE1v2_IOMMU, "TYPE1v2" },
	{ VFIO_DMA_CC_IOMMU, "DMA_CC" },
	{ VFIO_EEH, "EEH" },
	{ VFIO_TYPE1_NESTING_IOMMU, "TYPE1_NESTING" },
	{ VFIO_SPAPR_TCE_v2_IOMMU, "SPAPR_TCE_v2" },
	{ VFIO_NOIOMMU_IOMMU, "NOIOMMU" },
	{ VFIO_UNMAP_ALL, "UNMAP_ALL" },
	{ VFIO_UPDATE_VADDR, "UPDATE_VADDR" },
};

static const char *extension_name(int id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(extensions); i++)
		if (extensions[i].id == id)
			return extensions[i].name;
	return "?";
}

static int print_extensions(int container, const char *when)
{
	size_t i;

	printf("\nExtensions (%s)\n", when);
	printf("  %3s  %-14s %s\n", "id", "name", "supported");
	for (i = 0; i < ARRAY_SIZE(extensions); i++) {
		int ret = ioctl(container, VFIO_CHECK_EXTENSION,
				extensions[i].id);

		if (ret < 0)
			return fail("VFIO_CHECK_EXTENSION(%s)",
				    extensions[i].name);
		printf("  %3d  %-14s %s\n", extensions[i].id,
		       extensions[i].name, ret ? "yes" : "no");
	}
	return 0;
}

static int demo_container(struct demo *d)
{
	int version;

	d->container = open("/dev/vfio/vfio", O_RDWR);
	if (d->container < 0)
		return fail("open /dev/vfio/vfio");
	version = ioctl(d->container, VFIO_GET_API_VERSION);
	if (version < 0)
		return fail("VFIO_GET_API_VERSION");
	printf("\nContainer /dev/vfio/vfio: API version %d\n", version);
	if (version != VFIO_API_VERSION)
		return fail_msg("API version %d, this program knows %d",
				version, VFIO_API_VERSION);
	return print_extensions(d->container, "empty container");
}

/* ----------------------------- group -------------------------------- */

static int demo_find_group(struct demo *d)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *end;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group",
		 d->bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return fail("%s (no IOMMU group: is there an IOMMU, or no-IOMMU mode?)",
			    link);
	target[n] = '\0';
	errno = 0;
	d->group_id = (int)strtol(basename(target), &end, 10);
	if (*end || errno)
		return fail_msg("%s -> %s: not a group number", link, target);

	snprintf(d->group_path, sizeof(d->group_path), "/dev/vfio/%d",
		 d->group_id);
	if (access(d->group_path, F_OK)) {
		snprintf(d->group_path, sizeof(d->group_path),
			 "/dev/vfio/noiommu-%d", d->group_id);
		d->noiommu = !access(d->group_path, F_OK);
		if (!d->noiommu) {
			errno = ENOENT;
			return fail("/dev/vfio/%d (is %s bound to vfio-pci?)",
				    d->group_id, d->bdf);
		}
	}
	return 0;
}

static const struct flag_name group_flags[] = {
	{ VFIO_GROUP_FLAGS_VIABLE, "viable" },
	{ VFIO_GROUP_FLAGS_CONTAINER_SET, "container-set" },
};

static int print_group_status(struct demo *d, const char *when)
{
	static const char why[] = "each of its devices must be bound to vfio-pci or to no driver";
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char buf[128];

	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &st))
		return fail("VFIO_GROUP_GET_STATUS on %s", d->group_path);
	printf("  %-16s %s\n", when,
	       flag_str(st.flags, group_flags, ARRAY_SIZE(group_flags),
			buf, sizeof(buf)));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail_msg("group %d is not viable: %s", d->group_id, why);
	return 0;
}

static int demo_group(struct demo *d)
{
	if (demo_find_group(d))
		return -1;
	d->group = open(d->group_path, O_RDWR);
	if (d->group < 0)
		return fail("open %s", d->group_path);

	printf("\nGroup %d (%s)%s\n", d->group_id, d->group_path,
	       d->noiommu ? "  ** no-IOMMU: no DMA isolation **" : "");
	printf("  %-16s %s\n", "step", "status flags");
	if (print_group_status(d, "opened"))
		return -1;
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container))
		return fail("VFIO_GROUP_SET_CONTAINER");
	return print_group_status(d, "in container");
}

/* ----------------------------- IOMMU -------------------------------- */

static int demo_set_iommu(struct demo *d)
{
	static const int noiommu[] = { VFIO_NOIOMMU_IOMMU };
	static const int type1[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU };
	const int *try = d->noiommu ? noiommu : type1;
	size_t n = d->noiommu ? ARRAY_SIZE(noiommu) : ARRAY_SIZE(type1);
	size_t i;

	for (i = 0; i < n; i++) {
		if (ioctl(d->container, VFIO_CHECK_EXTENSION, try[i]) <= 0)
			continue;
		if (!ioctl(d->container, VFIO_SET_IOMMU, try[i])) {
			d->iommu_type = try[i];
			printf("\nIOMMU model: %s (%d)\n",
			       extension_name(try[i]), try[i]);
			return print_extensions(d->container, "IOMMU set");
		}
		fail("VFIO_SET_IOMMU(%s), trying the next model",
		     extension_name(try[i]));
	}
	return fail_msg("no IOMMU model could be set on the container");
}

static void print_pgsizes(unsigned long long map)
{
	char buf[16];
	int bit, n = __builtin_popcountll(map);

	printf("  %-16s 0x%llx (", "page sizes", map);
	if (n > 6) {
		printf("%d sizes, %s", n,
		       human(1ULL << __builtin_ctzll(map), buf, sizeof(buf)));
		printf(" to %s)\n",
		       human(1ULL << (63 - __builtin_clzll(map)), buf,
			     sizeof(buf)));
		return;
	}
	for (bit = 0; bit < 64; bit++)
		if (map & (1ULL << bit))
			printf("%s%s", map & ((1ULL << bit) - 1) ? " " : "",
			       human(1ULL << bit, buf, sizeof(buf)));
	printf(")\n");
}

static void print_iova_ranges(const struct vfio_info_cap_header *cap,
			      const char *end)
{
	const struct vfio_iommu_type1_info_cap_iova_range *r =
		(const void *)cap;
	__u32 i;

	printf("  %-16s %u\n", "IOVA ranges", r->nr_iovas);
	for (i = 0; i < r->nr_iovas; i++) {
		if ((const char *)&r->iova_ranges[i + 1] > end) {
			printf("    (truncated)\n");
			return;
		}
		printf("    0x%016llx - 0x%016llx\n",
		       (unsigned long long)r->iova_ranges[i].start,
		       (unsigned long long)r->iova_ranges[i].end);
	}
}

static int demo_iommu_info(struct demo *d)
{
	struct vfio_iommu_type1_info tmpl = { 0 };
	const struct vfio_info_cap_header *cap;
	struct vfio_iommu_type1_info *info;
	struct cap_iter it;
	char buf[32];

	printf("\nIOMMU info\n");
	if (d->iommu_type != VFIO_TYPE1_IOMMU &&
	    d->iommu_type != VFIO_TYPE1v2_IOMMU) {
		printf("  (no VFIO_IOMMU_GET_INFO for this model)\n");
		return 0;
	}
	info = info_query(d->container, VFIO_IOMMU_GET_INFO,
			  "VFIO_IOMMU_GET_INFO", &tmpl, sizeof(tmpl));
	if (!info)
		return -1;

	printf("  %-16s %u bytes\n", "info argsz", info->argsz);
	if (info->flags & VFIO_IOMMU_INFO_PGSIZES)
		print_pgsizes(info->iova_pgsizes);
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		printf("  %-16s none\n", "capabilities");

	for (cap = cap_first(&it, info, sizeof(*info), info->cap_offset); cap;
	     cap = cap_next(&it, cap)) {
		switch (cap->id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE:
			print_iova_ranges(cap, cap_end(&it));
			break;
		case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
			const struct vfio_iommu_type1_info_cap_migration *m =
				(const void *)cap;

			printf("  %-16s dirty tracking, page sizes 0x%llx, bitmap up to %s\n",
			       "migration", (unsigned long long)m->pgsize_bitmap,
			       human(m->max_dirty_bitmap_size, buf, sizeof(buf)));
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			const struct vfio_iommu_type1_info_dma_avail *a =
				(const void *)cap;

			printf("  %-16s %u more mappings allowed\n",
			       "DMA available", a->avail);
			break;
		}
		default:
			printf("  %-16s id %u version %u\n", "unknown cap",
			       cap->id, cap->version);
		}
	}
	free(info);
	return 0;
}

/* ----------------------------- device ------------------------------- */

static const struct flag_name device_flags[] = {
	{ VFIO_DEVICE_FLAGS_RESET, "reset" },
	{ VFIO_DEVICE_FLAGS_PCI, "pci" },
	{ VFIO_DEVICE_FLAGS_PLATFORM, "platform" },
	{ VFIO_DEVICE_FLAGS_AMBA, "amba" },
	{ VFIO_DEVICE_FLAGS_CCW, "ccw" },
	{ VFIO_DEVICE_FLAGS_AP, "ap" },
	{ VFIO_DEVICE_FLAGS_FSL_MC, "fsl-mc" },
	{ VFIO_DEVICE_FLAGS_CAPS, "caps" },
	{ VFIO_DEVICE_FLAGS_CDX, "cdx" },
};

static const struct flag_name atomic_flags[] = {
	{ VFIO_PCI_ATOMIC_COMP32, "32" },
	{ VFIO_PCI_ATOMIC_COMP64, "64" },
	{ VFIO_PCI_ATOMIC_COMP128, "128" },
};

static void print_device_caps(struct vfio_device_info *info)
{
	static const char * const zpci[] = {
		[VFIO_DEVICE_INFO_CAP_ZPCI_BASE] = "zPCI base",
		[VFIO_DEVICE_INFO_CAP_ZPCI_GROUP] = "zPCI group",
		[VFIO_DEVICE_INFO_CAP_ZPCI_UTIL] = "zPCI utility string",
		[VFIO_DEVICE_INFO_CAP_ZPCI_PFIP] = "zPCI function path",
	};
	const struct vfio_info_cap_header *cap;
	struct cap_iter it;
	char buf[64];

	if (!(info->flags & VFIO_DEVICE_FLAGS_CAPS))
		return;
	for (cap = cap_first(&it, info, sizeof(*info), info->cap_offset); cap;
	     cap = cap_next(&it, cap)) {
		if (cap->id == VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP) {
			const struct vfio_device_info_cap_pci_atomic_comp *a =
				(const void *)cap;

			printf("  %-16s AtomicOp completion: %s\n", "capability",
			       flag_str(a->flags, atomic_flags,
					ARRAY_SIZE(atomic_flags), buf,
					sizeof(buf)));
		} else if (cap->id < ARRAY_SIZE(zpci) && zpci[cap->id]) {
			printf("  %-16s %s (v%u)\n", "capability",
			       zpci[cap->id], cap->version);
		} else {
			printf("  %-16s id %u version %u\n", "capability",
			       cap->id, cap->version);
		}
	}
}

static void print_driver(const char *bdf)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		printf("  %-16s (none)\n", "driver");
		return;
	}
	target[n] = '\0';
	printf("  %-16s %s\n", "driver", basename(target));
}

static int demo_device(struct demo *d)
{
	struct vfio_device_info tmpl = { 0 };
	char buf[128];

	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (d->device < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD(\"%s\")", d->bdf);

	d->info = info_query(d->device, VFIO_DEVICE_GET_INFO,
			     "VFIO_DEVICE_GET_INFO", &tmpl, sizeof(tmpl));
	if (!d->info)
		return -1;

	printf("\nDevice %s (fd %d)\n", d->bdf, d->device);
	print_driver(d->bdf);
	printf("  %-16s %s\n", "flags",
	       flag_str(d->info->flags, device_flags, ARRAY_SIZE(device_flags),
			buf, sizeof(buf)));
	printf("  %-16s %u\n", "regions", d->info->num_regions);
	printf("  %-16s %u\n", "irqs", d->info->num_irqs);
	print_device_caps(d->info);
	return 0;
}

/* ----------------------------- regions ------------------------------ */

static const char *region_name(struct demo *d, __u32 index)
{
	static const char * const pci[] = {
		[VFIO_PCI_BAR0_REGION_INDEX] = "BAR0",
		[VFIO_PCI_BAR1_REGION_INDEX] = "BAR1",
		[VFIO_PCI_BAR2_REGION_INDEX] = "BAR2",
		[VFIO_PCI_BAR3_REGION_INDEX] = "BAR3",
		[VFIO_PCI_BAR4_REGION_INDEX] = "BAR4",
		[VFIO_PCI_BAR5_REGION_INDEX] = "BAR5",
		[VFIO_PCI_ROM_REGION_INDEX] = "ROM",
		[VFIO_PCI_CONFIG_REGION_INDEX] = "CONFIG",
		[VFIO_PCI_VGA_REGION_INDEX] = "VGA",
	};

	if (!(d->info->flags & VFIO_DEVICE_FLAGS_PCI))
		return "-";
	return index < ARRAY_SIZE(pci) ? pci[index] : "device";
}

static const char *region_type_name(__u32 type, __u32 subtype)
{
	__u32 vendor = type & VFIO_REGION_TYPE_PCI_VENDOR_MASK;

	if (type & VFIO_REGION_TYPE_PCI_VENDOR_TYPE) {
		if (vendor == 0x8086 &&
		    subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION)
			return "IGD OpRegion";
		if (vendor == 0x8086 &&
		    subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG)
			return "IGD host bridge config";
		if (vendor == 0x8086 &&
		    subtype == VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG)
			return "IGD LPC bridge config";
		return "PCI vendor specific";
	}
	if (type == VFIO_REGION_TYPE_GFX &&
	    subtype == VFIO_REGION_SUBTYPE_GFX_EDID)
		return "EDID";
	if (type == VFIO_REGION_TYPE_CCW)
		return "CCW";
	if (type == VFIO_REGION_TYPE_MIGRATION_DEPRECATED)
		return "migration (v1, deprecated)";
	return "unknown";
}

static const struct flag_name region_flags[] = {
	{ VFIO_REGION_INFO_FLAG_READ, "read" },
	{ VFIO_REGION_INFO_FLAG_WRITE, "write" },
	{ VFIO_REGION_INFO_FLAG_MMAP, "mmap" },
	{ VFIO_REGION_INFO_FLAG_CAPS, "caps" },
};

/* The caps column of the region table, with sparse areas below it. */
static void print_region_caps(struct vfio_region_info *info)
{
	const struct vfio_region_info_cap_sparse_mmap *sparse = NULL;
	const struct vfio_info_cap_header *cap;
	struct cap_iter it;
	char buf[32];
	int col = 0;
	__u32 i;

	cap = cap_first(&it, info, sizeof(*info), info->cap_offset);
	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS) {
		for (; cap; cap = cap_next(&it, cap)) {
			const struct vfio_region_info_cap_type *t =
				(const void *)cap;

			printf("%s", col++ ? ", " : "");
			switch (cap->id) {
			case VFIO_REGION_INFO_CAP_SPARSE_MMAP:
				sparse = (const void *)cap;
				printf("sparse-mmap(%u)", sparse->nr_areas);
				break;
			case VFIO_REGION_INFO_CAP_TYPE:
				printf("type 0x%x/%u %s", t->type, t->subtype,
				       region_type_name(t->type, t->subtype));
				break;
			case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE:
				printf("msix-mappable");
				break;
			case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT:
				printf("nvlink2-ssatgt");
				break;
			case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD:
				printf("nvlink2-lnkspd");
				break;
			default:
				printf("cap %u v%u", cap->id, cap->version);
			}
		}
	}
	printf("%s\n", col ? "" : "-");

	for (i = 0; sparse && i < sparse->nr_areas; i++) {
		const struct vfio_region_sparse_mmap_area *a = &sparse->areas[i];

		if ((const char *)(a + 1) > cap_end(&it)) {
			printf("%8s (areas truncated)\n", "");
			break;
		}
		printf("%8s mmap area %u: offset 0x%llx size %s\n", "", i,
		       (unsigned long long)a->offset,
		       human(a->size, buf, sizeof(buf)));
	}
}

static bool vga_region_present(struct demo *d)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_VGA_REGION_INDEX,
	};

	return !ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &info) ||
	       errno != EINVAL;
}

static int demo_regions(struct demo *d)
{
	bool is_pci = d->info->flags & VFIO_DEVICE_FLAGS_PCI;
	char what[64], fbuf[64], sbuf[32];
	__u32 i;

	printf("\nRegions (%u)\n", d->info->num_regions);
	printf("  %3s  %-6s  %8s  %-18s  %-21s %s\n", "idx", "name", "size",
	       "offset", "flags", "caps");
	for (i = 0; i < d->info->num_regions; i++) {
		struct vfio_region_info tmpl = { .index = i };
		struct vfio_region_info *info;

		/*
		 * vfio-pci counts the VGA index in num_regions for every
		 * device but answers EINVAL for it unless the device does
		 * VGA: that is "absent", not an error.
		 */
		if (is_pci && i == VFIO_PCI_VGA_REGION_INDEX &&
		    !vga_region_present(d)) {
			printf("  %3u  %-6s  %8s  (not a VGA device)\n", i,
			       region_name(d, i), "-");
			continue;
		}
		snprintf(what, sizeof(what), "VFIO_DEVICE_GET_REGION_INFO(%u)",
			 i);
		info = info_query(d->device, VFIO_DEVICE_GET_REGION_INFO, what,
				  &tmpl, sizeof(tmpl));
		if (!info)
			return -1;
		printf("  %3u  %-6s  %8s  0x%016llx  %-21s ", i,
		       region_name(d, i), human(info->size, sbuf, sizeof(sbuf)),
		       (unsigned long long)info->offset,
		       flag_str(info->flags, region_flags,
				ARRAY_SIZE(region_flags), fbuf, sizeof(fbuf)));
		print_region_caps(info);
		free(info);
	}
	return 0;
}

/* ------------------------------ IRQs -------------------------------- */

static const struct flag_name irq_flags[] = {
	{ VFIO_IRQ_INFO_EVENTFD, "eventfd" },
	{ VFIO_IRQ_INFO_MASKABLE, "maskable" },
	{ VFIO_IRQ_INFO_AUTOMASKED, "automasked" },
	{ VFIO_IRQ_INFO_NORESIZE, "noresize" },
};

static const char *irq_name(struct demo *d, __u32 index)
{
	static const char * const pci[] = {
		[VFIO_PCI_INTX_IRQ_INDEX] = "INTx",
		[VFIO_PCI_MSI_IRQ_INDEX] = "MSI",
		[VFIO_PCI_MSIX_IRQ_INDEX] = "MSI-X",
		[VFIO_PCI_ERR_IRQ_INDEX] = "ERR",
		[VFIO_PCI_REQ_IRQ_INDEX] = "REQ",
	};

	if (!(d->info->flags & VFIO_DEVICE_FLAGS_PCI))
		return "-";
	return index < ARRAY_SIZE(pci) ? pci[index] : "device";
}

static int demo_irqs(struct demo *d)
{
	char buf[64];
	__u32 i;

	printf("\nIRQs (%u)\n", d->info->num_irqs);
	printf("  %3s  %-6s  %5s  %s\n", "idx", "name", "count", "flags");
	for (i = 0; i < d->info->num_irqs; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &irq)) {
			/* vfio-pci has an ERR interrupt only for PCIe. */
			if (errno == EINVAL && i == VFIO_PCI_ERR_IRQ_INDEX &&
			    (d->info->flags & VFIO_DEVICE_FLAGS_PCI)) {
				printf("  %3u  %-6s  %5s  (not a PCIe device)\n",
				       i, irq_name(d, i), "-");
				continue;
			}
			return fail("VFIO_DEVICE_GET_IRQ_INFO(%u)", i);
		}
		printf("  %3u  %-6s  %5u  %s\n", i, irq_name(d, i), irq.count,
		       flag_str(irq.flags, irq_flags, ARRAY_SIZE(irq_flags),
				buf, sizeof(buf)));
	}
	return 0;
}

/* ------------------------------ MSI --------------------------------- */

/* QEMU's edu device: writing BAR0 0x60 raises an interrupt, 0x64 acks it. */
#define EDU_VENDOR_DEVICE	0x11e81234
#define EDU_IRQ_RAISE		0x60
#define EDU_IRQ_ACK		0x64

static int region_rw(struct demo *d, __u32 index, void *buf, size_t len,
		     __u64 pos, bool write)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };
	ssize_t n;

	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return fail("VFIO_DEVICE_GET_REGION_INFO(%u)", index);
	n = write ? pwrite(d->device, buf, len, info.offset + pos) :
		    pread(d->device, buf, len, info.offset + pos);
	if (n != (ssize_t)len)
		return fail("%s of region %u at 0x%llx", write ? "pwrite" : "pread",
			    index, (unsigned long long)pos);
	return 0;
}

static int set_msi(struct demo *d, __s32 fd, __u32 count)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD :
				  VFIO_IRQ_SET_DATA_NONE) |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_MSI_IRQ_INDEX,
			.count = count,
		},
		.fd = fd,
	};

	if (ioctl(d->device, VFIO_DEVICE_SET_IRQS, &irq))
		return fail("VFIO_DEVICE_SET_IRQS(MSI, count %u)", count);
	return 0;
}

/*
 * An interrupt end to end: MSI vector 0 goes to an eventfd, the device
 * raises it, the eventfd becomes readable.  Only the edu can be told to
 * raise one; other devices skip this step.
 */
static int demo_msi(struct demo *d)
{
	__u32 id = 0, one = 1;
	__u16 cmd;
	struct timespec t0, t1;
	struct pollfd pfd;
	__u64 count = 0;
	int efd, ret = -1;

	printf("\nMSI\n");
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &id, 4, 0, false))
		return -1;
	if (id != EDU_VENDOR_DEVICE) {
		printf("  (only the edu device raises an interrupt on request)\n");
		return 0;
	}

	/* An MSI is a memory write by the device: it needs bus mastering. */
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, 4, false))
		return -1;
	cmd |= 0x6;	/* COMMAND: memory space, bus master */
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, 4, true))
		return -1;

	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return fail("eventfd");
	if (set_msi(d, efd, 1))
		goto out_close;
	printf("  %-16s MSI vector 0 -> eventfd %d\n", "SET_IRQS", efd);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (region_rw(d, VFIO_PCI_BAR0_REGION_INDEX, &one, 4, EDU_IRQ_RAISE,
		      true))
		goto out_disable;
	printf("  %-16s BAR0 0x%x <- 1\n", "raise", EDU_IRQ_RAISE);

	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(efd, &count, sizeof(count)) !=
	    sizeof(count)) {
		fail_msg("the eventfd did not fire within 5 s");
		goto out_ack;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  %-16s eventfd %d fired, count %llu, %.1f us after the raise\n",
	       "delivered", efd, (unsigned long long)count,
	       (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3);
	ret = 0;

out_ack:
	if (region_rw(d, VFIO_PCI_BAR0_REGION_INDEX, &one, 4, EDU_IRQ_ACK,
		      true))
		ret = -1;
out_disable:
	if (set_msi(d, -1, 0))
		ret = -1;
out_close:
	close(efd);
	return ret;
}

/* ---------------------------- BAR mmap ------------------------------ */

/* edu's liveness register reads back the bitwise NOT of what was written. */
#define EDU_LIVENESS		0x04

/*
 * A BAR in the process's address space: edu's BAR0 mapped, its liveness
 * register written and read back with plain stores and loads, no syscall.
 */
static int demo_mmap(struct demo *d)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	__u32 id = 0, x = 0x1234abcd, back;
	__u32 *bar;
	__u16 cmd;

	printf("\nBAR0 mmap\n");
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &id, 4, 0, false))
		return -1;
	if (id != EDU_VENDOR_DEVICE) {
		printf("  (only the edu device has a liveness register)\n");
		return 0;
	}
	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return fail("VFIO_DEVICE_GET_REGION_INFO(BAR0)");
	if (!(info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		printf("  (BAR0 cannot be mapped)\n");
		return 0;
	}

	/* A BAR decodes only with memory space enabled in COMMAND. */
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, 4, false))
		return -1;
	cmd |= 0x2;
	if (region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, &cmd, 2, 4, true))
		return -1;

	bar = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   d->device, info.offset);
	if (bar == MAP_FAILED)
		return fail("mmap of BAR0");
	/* Device memory: each access must happen, once, 32 bits wide. */
	__atomic_store_n(&bar[EDU_LIVENESS / 4], x, __ATOMIC_RELAXED);
	back = __atomic_load_n(&bar[EDU_LIVENESS / 4], __ATOMIC_RELAXED);
	munmap(bar, info.size);

	printf("  %-16s %llu bytes at file offset 0x%llx\n", "mapped",
	       (unsigned long long)info.size,
	       (unsigned long long)info.offset);
	printf("  %-16s 0x%08x -> BAR0 0x%02x\n", "store", x, EDU_LIVENESS);
	printf("  %-16s 0x%08x (the device inverts it)\n", "load", back);
	if (back != (__u32)~x)
		return fail_msg("liveness register read back 0x%08x, not 0x%08x",
				back, ~x);
	return 0;
}

/* ------------------------------ DMA --------------------------------- */

/*
 * edu's DMA engine (QEMU's "edu" device): BAR0 registers for the source,
 * destination, length and command of one transfer between guest memory
 * (addresses the device sees: IOVAs, 28 bits) and a 4 KiB buffer inside
 * the device at DMA_DEMO_EDU_BUF.  Command bit 0 starts the transfer and
 * reads back 0 when done, bit 1 sets the direction to RAM.
 */
#define DMA_DEMO_EDU_ID		0x11e81234	/* device << 16 | vendor */
#define DMA_DEMO_SRC		0x80
#define DMA_DEMO_DST		0x88
#define DMA_DEMO_CNT		0x90
#define DMA_DEMO_CMD		0x98
#define DMA_DEMO_START		0x1
#define DMA_DEMO_TO_RAM		0x2
#define DMA_DEMO_EDU_BUF	0x40000ULL
/* Well short of the buffer's end: QEMU 7.2 stops the VM on its last byte */
#define DMA_DEMO_LEN		1024
#define DMA_DEMO_IOVA		0x100000ULL
#define DMA_DEMO_PAGE		4096

static int dma_demo_region(struct demo *d, __u32 index, __u64 *offset)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return fail("VFIO_DEVICE_GET_REGION_INFO(%u)", index);
	*offset = info.offset;
	return 0;
}

/* One edu transfer, waited for; returns the time it took in ms */
static double dma_demo_transfer(struct demo *d, __u64 bar0, __u64 src,
				__u64 dst, bool to_ram)
{
	__u64 cmd = DMA_DEMO_START | (to_ram ? DMA_DEMO_TO_RAM : 0);
	__u64 len = DMA_DEMO_LEN;
	struct timespec t0, t1;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pwrite(d->device, &src, 8, bar0 + DMA_DEMO_SRC) != 8 ||
	    pwrite(d->device, &dst, 8, bar0 + DMA_DEMO_DST) != 8 ||
	    pwrite(d->device, &len, 8, bar0 + DMA_DEMO_CNT) != 8 ||
	    pwrite(d->device, &cmd, 8, bar0 + DMA_DEMO_CMD) != 8)
		return fail("programming the DMA engine");
	for (i = 0; i < 5000; i++) {
		if (pread(d->device, &cmd, 8, bar0 + DMA_DEMO_CMD) != 8)
			return fail("reading the DMA status");
		if (!(cmd & DMA_DEMO_START))
			break;
		usleep(1000);
	}
	if (cmd & DMA_DEMO_START)
		return fail_msg("the DMA engine did not finish within 5 s");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* VmLck of this process: what type1 charged us for pinned pages */
static long dma_demo_locked_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int dma_demo_unmap(struct demo *d, __u64 *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = DMA_DEMO_IOVA,
		.size = 2 * DMA_DEMO_PAGE,
	};

	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return fail("VFIO_IOMMU_UNMAP_DMA");
	*size = unmap.size;
	return 0;
}

/*
 * DMA through the IOMMU, end to end: two pages of this process are
 * mapped at an IOVA; the device copies page 0 into its own buffer and
 * from there into page 1; the bytes must match.  Then the mapping goes,
 * and the same transfer must not reach memory any more: the IOMMU blocks
 * it (the guest log shows a DMAR fault for it, as it should).
 */
static int demo_dma(struct demo *d)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = DMA_DEMO_IOVA,
		.size = 2 * DMA_DEMO_PAGE,
	};
	__u64 cfg = 0, bar0 = 0, unmapped = 0;
	long locked0, locked1;
	double ms_in, ms_out;
	bool mapped = false;
	__u32 id = 0;
	__u16 cmd;
	char *buf;
	int i, ret = -1;

	printf("\nDMA through the IOMMU\n");
	if (d->iommu_type != VFIO_TYPE1_IOMMU &&
	    d->iommu_type != VFIO_TYPE1v2_IOMMU) {
		printf("  (no type1 IOMMU: nothing to map)\n");
		return 0;
	}
	if (dma_demo_region(d, VFIO_PCI_CONFIG_REGION_INDEX, &cfg) ||
	    dma_demo_region(d, VFIO_PCI_BAR0_REGION_INDEX, &bar0))
		return -1;
	if (pread(d->device, &id, 4, cfg) != 4)
		return fail("reading the config space");
	if (id != DMA_DEMO_EDU_ID) {
		printf("  (only the edu device has a DMA engine this program knows)\n");
		return 0;
	}
	/* The device may only DMA as bus master; memory decode for BAR0 */
	if (pread(d->device, &cmd, 2, cfg + 4) != 2)
		return fail("reading COMMAND");
	cmd |= 0x6;
	if (pwrite(d->device, &cmd, 2, cfg + 4) != 2)
		return fail("writing COMMAND");

	buf = mmap(NULL, 2 * DMA_DEMO_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	for (i = 0; i < DMA_DEMO_LEN; i++)
		buf[i] = (char)(i * 13 + 7);
	snprintf(buf, 64, "vfio_demo %d: hello through the IOMMU", getpid());
	memset(buf + DMA_DEMO_PAGE, 0, DMA_DEMO_PAGE);

	locked0 = dma_demo_locked_kb();
	map.vaddr = (uintptr_t)buf;
	if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &map)) {
		fail("VFIO_IOMMU_MAP_DMA");
		goto out_free;
	}
	mapped = true;
	locked1 = dma_demo_locked_kb();
	printf("  %-16s iova 0x%llx-0x%llx -> %p, read/write, locked_vm %+ld kB\n",
	       "MAP_DMA", DMA_DEMO_IOVA, DMA_DEMO_IOVA + 2 * DMA_DEMO_PAGE - 1,
	       (void *)buf, locked1 - locked0);

	ms_in = dma_demo_transfer(d, bar0, DMA_DEMO_IOVA, DMA_DEMO_EDU_BUF,
				  false);
	if (ms_in < 0)
		goto out_unmap;
	printf("  %-16s %d bytes, iova 0x%llx -> device buffer 0x%llx (%.0f ms)\n",
	       "device reads", DMA_DEMO_LEN, DMA_DEMO_IOVA, DMA_DEMO_EDU_BUF,
	       ms_in);
	ms_out = dma_demo_transfer(d, bar0, DMA_DEMO_EDU_BUF,
				   DMA_DEMO_IOVA + DMA_DEMO_PAGE, true);
	if (ms_out < 0)
		goto out_unmap;
	printf("  %-16s %d bytes, device buffer 0x%llx -> iova 0x%llx (%.0f ms)\n",
	       "device writes", DMA_DEMO_LEN, DMA_DEMO_EDU_BUF,
	       DMA_DEMO_IOVA + DMA_DEMO_PAGE, ms_out);
	if (memcmp(buf, buf + DMA_DEMO_PAGE, DMA_DEMO_LEN)) {
		fail_msg("page 1 does not hold what the device read from page 0");
		goto out_unmap;
	}
	printf("  %-16s page 1 == page 0 over %d bytes (\"%s\")\n", "verified",
	       DMA_DEMO_LEN, buf + DMA_DEMO_PAGE);

	mapped = false;
	if (dma_demo_unmap(d, &unmapped))
		goto out_free;
	printf("  %-16s %llu bytes, locked_vm %+ld kB\n", "UNMAP_DMA",
	       (unsigned long long)unmapped, dma_demo_locked_kb() - locked1);

	memset(buf + DMA_DEMO_PAGE, 0, DMA_DEMO_PAGE);
	if (dma_demo_transfer(d, bar0, DMA_DEMO_EDU_BUF,
			      DMA_DEMO_IOVA + DMA_DEMO_PAGE, true) < 0)
		goto out_free;
	for (i = 0; i < DMA_DEMO_PAGE; i++)
		if (buf[DMA_DEMO_PAGE + i]) {
			fail_msg("a DMA to an unmapped IOVA reached memory");
			goto out_free;
		}
	printf("  %-16s the same write after UNMAP_DMA: blocked by the IOMMU, page 1 untouched\n",
	       "verified");
	ret = 0;

out_unmap:
	if (mapped && dma_demo_unmap(d, &unmapped))
		ret = -1;
out_free:
	munmap(buf, 2 * DMA_DEMO_PAGE);
	return ret;
}

/* ---------------------- SR-IOV and the VF token --------------------- */

/* What the PF's user sets; any UUID will do, random in real life. */
#define VF_DEMO_TOKEN	"8b0e2a5c-46f1-4d7e-9c3b-2f61a0d4e917"
#define VF_DEMO_WRONG	"00000000-0000-4000-8000-000000000000"

/*
 * One VFIO_GROUP_GET_DEVICE_FD of @d's device with the option string @opt
 * appended, printed as a table row.  Returns the fd, or -1 with errno set;
 * fails the step (-2) when the outcome is not @want_errno (0: success).
 */
static int vf_demo_open(struct demo *d, const char *opt, int want_errno)
{
	char name[128];
	int fd, err;

	snprintf(name, sizeof(name), "%s%s%s", d->bdf, *opt ? " " : "", opt);
	fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, name);
	err = fd < 0 ? errno : 0;
	printf("  %-60s %s\n", name, err ? strerror(err) : "opened");
	if (err != want_errno) {
		if (fd >= 0)
			close(fd);
		errno = err;
		fail_msg("\"%s\": expected %s", name,
			 want_errno ? strerror(want_errno) : "success");
		return -2;
	}
	errno = err;
	return fd;
}

static int vf_token_demo(struct demo *pf, struct demo *vf)
{
	__u16 id[2];
	int pf2;

	if (demo_container(pf) || demo_group(pf) || demo_set_iommu(pf))
		return -1;
	vf->container = pf->container;
	if (demo_group(vf))
		return -1;

	printf("\nThe PF's user sets the VF token as it opens the PF\n");
	pf->device = vf_demo_open(pf, "vf_token=" VF_DEMO_TOKEN, 0);
	if (pf->device < 0)
		return -1;

	printf("\nA VF user must present it (%s)\n", vf->bdf);
	if (vf_demo_open(vf, "", EACCES) != -1 ||
	    vf_demo_open(vf, "vf_token=" VF_DEMO_WRONG, EACCES) != -1)
		return -1;
	vf->device = vf_demo_open(vf, "vf_token=" VF_DEMO_TOKEN, 0);
	if (vf->device < 0)
		return -1;
	if (region_rw(vf, VFIO_PCI_CONFIG_REGION_INDEX, id, sizeof(id), 0,
		      false))
		return -1;
	printf("  %-60s %04x:%04x\n", "VF config space: vendor:device", id[0],
	       id[1]);

	printf("\nWhile the VF is in use, so must anyone who opens the PF\n");
	if (vf_demo_open(pf, "", EACCES) != -1)
		return -1;
	pf2 = vf_demo_open(pf, "vf_token=" VF_DEMO_TOKEN, 0);
	if (pf2 < 0)
		return -1;
	close(pf2);
	return 0;
}

/* ------------------------------ main -------------------------------- */

static const struct demo_step {
	const char *name;
	int (*run)(struct demo *d);
} demo_steps[] = {
	{ "container", demo_container },
	{ "group", demo_group },
	{ "iommu", demo_set_iommu },
	{ "iommu-info", demo_iommu_info },
	{ "device", demo_device },
	{ "regions", demo_regions },
	{ "irqs", demo_irqs },
	{ "msi", demo_msi },
	{ "mmap", demo_mmap },
	{ "dma", demo_dma },
};

static void demo_teardown(struct demo *d)
{
	free(d->info);
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0) {
		/* Fails harmlessly when the group never joined the container. */
		ioctl(d->group, VFIO_GROUP_UNSET_CONTAINER);
		close(d->group);
	}
	if (d->container >= 0)
		close(d->container);
}

static int parse_bdf(struct demo *d, const char *arg)
{
	unsigned int dom = 0, bus, dev, fn;
	char extra;

	if (sscanf(arg, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &extra) != 4) {
		/* No domain given: assume 0000. */
		dom = 0;
		if (sscanf(arg, "%x:%x.%x%c", &bus, &dev, &fn, &extra) != 3)
			return -1;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -1;
	snprintf(d->bdf, sizeof(d->bdf), "%04x:%02x:%02x.%x", dom, bus, dev,
		 fn);
	return 0;
}

static int print_usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [DOMAIN:]BUS:DEV.FN  (e.g. 0000:00:03.0)\n"
		"       %s --vf-token PF VF\n", argv0, argv0);
	return 2;
}

int main(int argc, char **argv)
{
	struct demo d = { .container = -1, .group = -1, .device = -1 };
	struct demo vf = { .container = -1, .group = -1, .device = -1 };
	size_t i;
	int ret = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "--vf-token")) {
		if (parse_bdf(&d, argv[2]) || parse_bdf(&vf, argv[3]))
			return print_usage(argv[0]);
		printf("vfio_demo: VF token, PF %s, VF %s\n", d.bdf, vf.bdf);
		ret = vf_token_demo(&d, &vf) ? 1 : 0;
		/* The VF shares the PF's container: the VF's group goes first. */
		vf.container = -1;
		demo_teardown(&vf);
		demo_teardown(&d);
		if (!ret)
			printf("\nvfio_demo: OK\n");
		return ret;
	}
	if (argc != 2 || parse_bdf(&d, argv[1]))
		return print_usage(argv[0]);
	printf("vfio_demo: %s\n", d.bdf);

	for (i = 0; i < ARRAY_SIZE(demo_steps); i++) {
		if (demo_steps[i].run(&d)) {
			fprintf(stderr, "vfio_demo: step '%s' failed\n",
				demo_steps[i].name);
			ret = 1;
			break;
		}
	}
	demo_teardown(&d);
	if (!ret)
		printf("\nvfio_demo: OK\n");
	return ret;
}
