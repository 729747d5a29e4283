// SPDX-License-Identifier: GPL-2.0-only
/*
 * type1: IOMMU domains, attached groups and the valid IOVA ranges.
 *
 * A container starts without a domain.  Attaching the group of a real
 * device first tries every domain the container already has (the IOMMU
 * driver refuses a domain the group's devices cannot use) and only then
 * allocates a new paging domain for it.  A new domain gets every existing
 * range replayed into it from the ranges' extents; the first domain of a
 * container pins them first.  Groups of emulated devices have no domain.
 *
 * The valid IOVA ranges are recomputed from scratch whenever the set of
 * groups changes: the whole 64-bit space, clipped to each domain's
 * aperture, minus every reserved region of every group except the ones
 * a device may ignore (IOMMU_RESV_DIRECT_RELAXABLE).  An attach that
 * would leave an existing range outside them is refused.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "type1.h"

static struct t1_group *t1_group_find(struct t1_iommu *iommu,
				      struct iommu_group *group)
{
	struct t1_domain *domain;
	struct t1_group *g;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry(domain, &iommu->domains, next)
		list_for_each_entry(g, &domain->groups, next)
			if (g->group == group)
				return g;
	list_for_each_entry(g, &iommu->emulated_groups, next)
		if (g->group == group)
			return g;
	return NULL;
}

static int t1_group_first_dev_fn(struct device *dev, void *data)
{
	*(struct device **)data = dev;
	return 1;
}

static int t1_group_incoherent_fn(struct device *dev, void *data)
{
	return !device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY);
}

/* Can every device of @group have IOMMU_CACHE mappings? */
static bool t1_group_cache_coherent(struct iommu_group *group)
{
	return !iommu_group_for_each_dev(group, NULL, t1_group_incoherent_fn);
}

static void t1_resv_free(struct list_head *resv)
{
	struct iommu_resv_region *region, *tmp;

	list_for_each_entry_safe(region, tmp, resv, list) {
		list_del(&region->list);
		kfree(region);
	}
}

/* Keep only [start, last] of @rs (@keep) or take [start, last] out of it */
static int t1_iova_cut(struct t1_iova_ranges *rs, u64 start, u64 last,
		       bool keep)
{
	struct vfio_iova_range *r;
	unsigned int i, n = 0;

	r = kcalloc(rs->nr + 1, sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	for (i = 0; i < rs->nr; i++) {
		u64 s = rs->r[i].start, e = rs->r[i].end;

		if (keep) {
			s = max(s, start);
			e = min(e, last);
			if (s <= e) {
				r[n].start = s;
				r[n++].end = e;
			}
			continue;
		}
		if (e < start || s > last) {
			r[n++] = rs->r[i];
			continue;
		}
		if (s < start) {
			r[n].start = s;
			r[n++].end = start - 1;
		}
		if (e > last) {
			r[n].start = last + 1;
			r[n++].end = e;
		}
	}
	kfree(rs->r);
	rs->r = r;
	rs->nr = n;
	return 0;
}

static int t1_iova_apply_domain(struct t1_iova_ranges *rs,
				struct iommu_domain *domain)
{
	if (!domain->geometry.force_aperture)
		return 0;
	return t1_iova_cut(rs, domain->geometry.aperture_start,
			   domain->geometry.aperture_end, true);
}

static int t1_iova_apply_resv(struct t1_iova_ranges *rs,
			      struct list_head *resv)
{
	struct iommu_resv_region *region;
	int ret;

	list_for_each_entry(region, resv, list) {
		if (region->type == IOMMU_RESV_DIRECT_RELAXABLE ||
		    !region->length)
			continue;
		ret = t1_iova_cut(rs, region->start,
				  region->start + region->length - 1, false);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The valid IOVA ranges of the attached groups, plus a group being
 * attached with reserved regions @extra_resv to domain @extra_domain.
 */
static int t1_iova_compute(struct t1_iommu *iommu,
			   struct iommu_domain *extra_domain,
			   struct list_head *extra_resv,
			   struct t1_iova_ranges *out)
{
	struct t1_domain *domain;
	struct t1_group *g;
	int ret = 0;

	out->r = kzalloc(sizeof(*out->r), GFP_KERNEL);
	if (!out->r)
		return -ENOMEM;
	out->r[0].start = 0;
	out->r[0].end = U64_MAX;
	out->nr = 1;

	list_for_each_entry(domain, &iommu->domains, next) {
		ret = t1_iova_apply_domain(out, domain->domain);
		if (ret)
			goto err_free;
		list_for_each_entry(g, &domain->groups, next) {
			LIST_HEAD(resv);

			ret = iommu_get_group_resv_regions(g->group, &resv);
			if (!ret)
				ret = t1_iova_apply_resv(out, &resv);
			t1_resv_free(&resv);
			if (ret)
				goto err_free;
		}
	}
	if (extra_domain) {
		ret = t1_iova_apply_domain(out, extra_domain);
		if (ret)
			goto err_free;
	}
	if (extra_resv) {
		ret = t1_iova_apply_resv(out, extra_resv);
		if (ret)
			goto err_free;
	}
	return 0;

err_free:
	kfree(out->r);
	out->r = NULL;
	return ret;
}

static bool t1_iova_covers(const struct t1_iova_ranges *rs, u64 iova,
			   u64 last)
{
	unsigned int i;

	for (i = 0; i < rs->nr; i++)
		if (iova >= rs->r[i].start && last <= rs->r[i].end)
			return true;
	return false;
}

/**
 * t1_iova_range_valid - may [iova, last] be mapped?
 * @iommu: the container
 * @iova: first IOVA
 * @last: last IOVA, inclusive
 *
 * Return: true when one valid IOVA range holds all of it.
 */
bool t1_iova_range_valid(struct t1_iommu *iommu, u64 iova, u64 last)
{
	lockdep_assert_held(&iommu->lock);
	return t1_iova_covers(&iommu->ranges, iova, last);
}

/* Would every existing range still be valid with @rs? */
static int t1_iova_check_dmas(struct t1_iommu *iommu,
			      const struct t1_iova_ranges *rs)
{
	struct t1_dma *dma;

	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX))
		if (!t1_iova_covers(rs, dma->iova, dma->last))
			return -EINVAL;
	return 0;
}

static void t1_iova_commit(struct t1_iommu *iommu, struct t1_iova_ranges *rs)
{
	kfree(iommu->ranges.r);
	iommu->ranges = *rs;
	rs->r = NULL;
	rs->nr = 0;
}

/* The page sizes every domain supports, never below PAGE_SIZE */
static void t1_domain_update_pgsizes(struct t1_iommu *iommu)
{
	unsigned long bitmap = ULONG_MAX;
	struct t1_domain *domain;

	list_for_each_entry(domain, &iommu->domains, next)
		bitmap &= domain->domain->pgsize_bitmap;
	if (bitmap & ~PAGE_MASK) {
		bitmap &= PAGE_MASK;
		bitmap |= PAGE_SIZE;
	}
	if (!bitmap)
		bitmap = PAGE_SIZE;
	iommu->pgsize_bitmap = bitmap;
}

/**
 * t1_domain_all_enforce_cc - do all domains block no-snoop DMA?
 * @iommu: the container
 *
 * Return: true when every domain enforces cache coherency.
 */
bool t1_domain_all_enforce_cc(struct t1_iommu *iommu)
{
	struct t1_domain *domain;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry(domain, &iommu->domains, next)
		if (!domain->enforce_cc)
			return false;
	return true;
}

/*
 * Map every range into a new domain, pinning them first if it is the
 * first, and add the domain to the container's list.  Pinning waits for
 * the owners' page faults, so it happens before domain_lock is taken;
 * mapping and publishing the domain happen under it, so that a device
 * event revokes a range either before it is mapped here or from every
 * domain, this one included.  Revoked ranges are neither pinned nor
 * mapped.
 */
static int t1_domain_replay(struct t1_iommu *iommu, struct t1_domain *domain)
{
	struct t1_dma *dma;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX)) {
		if (dma->iommu_pinned || READ_ONCE(dma->revoked))
			continue;
		ret = t1_pin_dma(iommu, dma);
		if (ret)
			return ret;
		dma->iommu_pinned = true;
		cond_resched();
	}

	mutex_lock(&iommu->domain_lock);
	for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
	     dma = t1_dma_next(iommu, dma, 0, U64_MAX)) {
		if (!dma->iommu_pinned || dma->revoked)
			continue;
		ret = t1_dma_map_domain(iommu, dma, domain);
		if (ret)
			goto out_unlock;
		cond_resched();
	}
	list_add_tail(&domain->next, &iommu->domains);
out_unlock:
	mutex_unlock(&iommu->domain_lock);
	return ret;
}

/*
 * A new domain for @group, attached, with every range mapped, in the
 * container's list, and @ranges computed.  On error everything is
 * undone, including pins taken for a first domain.
 */
static struct t1_domain *t1_domain_new(struct t1_iommu *iommu,
				       struct iommu_group *group,
				       bool coherent, struct list_head *resv,
				       struct t1_iova_ranges *ranges)
{
	bool first = list_empty(&iommu->domains);
	struct iommu_resv_region *region;
	struct t1_domain *domain;
	struct device *dev = NULL;
	int ret;

	iommu_group_for_each_dev(group, &dev, t1_group_first_dev_fn);
	if (!dev)
		return ERR_PTR(-ENODEV);

	domain = kzalloc(sizeof(*domain), GFP_KERNEL_ACCOUNT);
	if (!domain)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&domain->groups);
	domain->prot = coherent ? IOMMU_CACHE : 0;
	domain->domain = iommu_paging_domain_alloc(dev);
	if (IS_ERR(domain->domain)) {
		ret = PTR_ERR(domain->domain);
		goto err_free;
	}
	if (iommu->nesting) {
		ret = iommu_enable_nesting(domain->domain);
		if (ret)
			goto err_free_domain;
	}
	ret = iommu_attach_group(domain->domain, group);
	if (ret)
		goto err_free_domain;
	/*
	 * Only once a device is attached: an empty domain would agree to
	 * enforce and then refuse every device that cannot snoop.
	 */
	if (domain->domain->ops->enforce_cache_coherency)
		domain->enforce_cc =
			domain->domain->ops->enforce_cache_coherency(domain->domain);

	ret = t1_iova_compute(iommu, domain->domain, resv, ranges);
	if (ret)
		goto err_detach;
	ret = t1_iova_check_dmas(iommu, ranges);
	if (ret)
		goto err_free_ranges;

	list_for_each_entry(region, resv, list) {
		if (region->type != IOMMU_RESV_SW_MSI)
			continue;
		ret = iommu_get_msi_cookie(domain->domain, region->start);
		if (ret)
			goto err_free_ranges;
		break;
	}

	ret = t1_domain_replay(iommu, domain);
	if (ret)
		goto err_unpin;
	return domain;

err_unpin:
	iommu_detach_group(domain->domain, group);
	if (first) {
		struct t1_dma *dma;

		for (dma = t1_dma_first(iommu, 0, U64_MAX); dma;
		     dma = t1_dma_next(iommu, dma, 0, U64_MAX))
			t1_pin_release_extents(dma);
	}
	kfree(ranges->r);
	ranges->r = NULL;
	goto err_free_domain;
err_free_ranges:
	kfree(ranges->r);
	ranges->r = NULL;
err_detach:
	iommu_detach_group(domain->domain, group);
err_free_domain:
	iommu_domain_free(domain->domain);
err_free:
	kfree(domain);
	return ERR_PTR(ret);
}

/**
 * t1_group_attach - backend attach_group
 * @iommu: the container
 * @group: the group
 * @emulated: its devices are emulated (no IOMMU; they pin on demand)
 *
 * Return: 0, -EPERM without interrupt isolation (unless
 * allow_unsafe_interrupts), -EBUSY while a range has no valid vaddr,
 * -EINVAL for a group already attached or one whose reserved regions
 * cover an existing range, or the errno of the IOMMU layer.
 */
int t1_group_attach(struct t1_iommu *iommu, struct iommu_group *group,
		    bool emulated)
{
	struct t1_iova_ranges ranges = {};
	struct t1_domain *domain;
	struct t1_group *g;
	LIST_HEAD(resv);
	bool coherent;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (t1_group_find(iommu, group))
		return -EINVAL;
	if (iommu->vaddr_invalid_count)
		return -EBUSY;

	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->group = group;
	if (emulated) {
		list_add(&g->next, &iommu->emulated_groups);
		return 0;
	}

	if (!type1_allow_unsafe_interrupts &&
	    !iommu_group_has_isolated_msi(group)) {
		pr_warn("vfio_iommu_type1: IOMMU group %d has no interrupt remapping; refusing it (module option allow_unsafe_interrupts)\n",
			iommu_group_id(group));
		ret = -EPERM;
		goto err_free_group;
	}

	ret = iommu_get_group_resv_regions(group, &resv);
	if (ret)
		goto err_free_resv;

	coherent = t1_group_cache_coherent(group);
	list_for_each_entry(domain, &iommu->domains, next) {
		if (!!(domain->prot & IOMMU_CACHE) != coherent)
			continue;
		if (iommu_attach_group(domain->domain, group))
			continue;
		ret = t1_iova_compute(iommu, NULL, &resv, &ranges);
		if (!ret) {
			ret = t1_iova_check_dmas(iommu, &ranges);
			if (ret)
				kfree(ranges.r);
		}
		if (ret) {
			iommu_detach_group(domain->domain, group);
			goto err_free_resv;
		}
		goto out_add;
	}

	domain = t1_domain_new(iommu, group, coherent, &resv, &ranges);
	if (IS_ERR(domain)) {
		ret = PTR_ERR(domain);
		goto err_free_resv;
	}

out_add:
	g->domain = domain;
	list_add(&g->next, &domain->groups);
	t1_iova_commit(iommu, &ranges);
	t1_domain_update_pgsizes(iommu);
	t1_resv_free(&resv);
	return 0;

err_free_resv:
	t1_resv_free(&resv);
err_free_group:
	kfree(g);
	return ret;
}

/**
 * t1_group_detach - backend detach_group; cannot fail
 * @iommu: the container
 * @group: an attached group
 *
 * When the last group goes, every range goes with it.  When the last
 * domain goes but emulated groups stay, the ranges stay unpinned.
 */
void t1_group_detach(struct t1_iommu *iommu, struct iommu_group *group)
{
	struct t1_iova_ranges ranges;
	struct t1_domain *domain;
	struct t1_group *g;

	lockdep_assert_held(&iommu->lock);

	g = t1_group_find(iommu, group);
	if (WARN_ON(!g))
		return;
	domain = g->domain;
	list_del(&g->next);
	kfree(g);

	if (domain) {
		iommu_detach_group(domain->domain, group);
		if (list_empty(&domain->groups)) {
			/* No device uses it: its mappings go with it */
			mutex_lock(&iommu->domain_lock);
			list_del(&domain->next);
			mutex_unlock(&iommu->domain_lock);
			if (list_empty(&iommu->domains))
				t1_dma_unpin_all_iommu(iommu);
			iommu_domain_free(domain->domain);
			kfree(domain);
		}
	}
	if (list_empty(&iommu->domains) && list_empty(&iommu->emulated_groups))
		t1_dma_remove_all(iommu);

	/* Fewer groups only ever widen the ranges; keep the old on -ENOMEM */
	if (!t1_iova_compute(iommu, NULL, NULL, &ranges))
		t1_iova_commit(iommu, &ranges);
	t1_domain_update_pgsizes(iommu);
}

/**
 * t1_group_detach_all - detach whatever is still attached
 * @iommu: the container
 */
void t1_group_detach_all(struct t1_iommu *iommu)
{
	struct t1_domain *domain;
	struct t1_group *g;

	lockdep_assert_held(&iommu->lock);

	while ((domain = list_first_entry_or_null(&iommu->domains,
						  struct t1_domain, next))) {
		g = list_first_entry(&domain->groups, struct t1_group, next);
		t1_group_detach(iommu, g->group);
	}
	while ((g = list_first_entry_or_null(&iommu->emulated_groups,
					     struct t1_group, next)))
		t1_group_detach(iommu, g->group);
}
