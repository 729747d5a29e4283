// SPDX-License-Identifier: GPL-2.0
/*
 * type1 pins under concurrency and across process lifetimes: whoever
 * maps, unmaps, exits or closes, and in whatever order, every page pin
 * comes back and every charge lands on the process that mapped.
 *
 *  - stress: several threads map and unmap at random in one container
 *    (overlaps, unmaps of each other's ranges, unmap-all) while the edu
 *    device DMAs through a range nobody touches; at the end the container
 *    is emptied (UNMAP_ALL, or by closing it) and every pin is back.
 *  - exit: a process dies with live mappings, alone in its container or
 *    sharing one with its parent.
 *  - owner: the mapping's owner is the process that mapped, whoever calls
 *    UNMAP_DMA later: another thread, another process.
 *
 * The witnesses are locked_vm (VmLck) and the kernel's FOLL_PIN counters
 * (see vfio_type1_util.h).  Everything here is upstream 6.12 behaviour
 * and passes against the distro's modules too.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "testbed.h"
#include "vfio_type1_util.h"

#define MIB		0x100000UL

/* ---- stress ---------------------------------------------------------- */

#define STRESS_THREADS	4
#define STRESS_SECONDS	8
#define STRESS_ITERS	20000		/* per thread, if time allows */
#define STRESS_BUF	(32 * MIB)	/* half THP, half 4 KiB pages */
#define WINDOW_BASE	0x100000000ULL	/* thread t maps in window t */
#define WINDOW_SIZE	(256 * MIB)
#define STABLE_IOVA	0x200000UL	/* edu's range, no thread's */
#define STABLE_SIZE	(2 * PG)

struct stress {
	int container;
	bool v2;
	char *buf;
	double deadline;
	atomic_bool stop;
	atomic_long maps, unmaps, unmapped_bytes, errors, dma_checks;
	struct edu *edu;
	char *stable;
};

struct stress_thread {
	struct stress *st;
	int id;
	uint64_t rnd;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void stress_error(struct stress *st, const char *what, int err)
{
	fprintf(stderr, "# stress: %s: %s\n", what, strerror(-err));
	atomic_fetch_add(&st->errors, 1);
}

static void stress_unmap(struct stress *st, __u64 iova, __u64 size,
			 __u32 flags, bool may_cut)
{
	__u64 done = 0;
	int ret;

	ret = _unmap(st->container, iova, size, flags, &done);
	/* v2 refuses a request that cuts a range someone mapped since */
	if (ret == -EINVAL && may_cut && st->v2)
		return;
	if (ret) {
		stress_error(st, "UNMAP_DMA", ret);
		return;
	}
	atomic_fetch_add(&st->unmaps, 1);
	atomic_fetch_add(&st->unmapped_bytes, done);
}

static void *stress_mapper(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *st = t->st;
	__u64 window = WINDOW_BASE + (__u64)t->id * WINDOW_SIZE;
	__u64 last_iova = 0, last_size = 0;
	int i;

	for (i = 0; i < STRESS_ITERS && !atomic_load(&st->stop); i++) {
		uint64_t r = next_rnd(&t->rnd);
		__u64 npages = 1 + (r >> 8) % 512, iova, off;
		int op = r % 16, ret;

		if (now_s() > st->deadline)
			break;
		if (op < 9) {
			/* A 2 MiB aligned map of the THP half, or any */
			if (op == 0)
				npages = HPAGE / PG;
			iova = window + ((r >> 20) % (WINDOW_SIZE / PG -
						       npages)) * PG;
			off = ((r >> 40) % (STRESS_BUF / PG - npages)) * PG;
			if (op == 0) {
				iova &= ~(__u64)(HPAGE - 1);
				off &= ~(__u64)(HPAGE - 1);
			}
			ret = _map(st->container, iova, npages * PG,
				   st->buf + off, RW);
			if (ret == -EEXIST)
				continue;
			if (ret) {
				stress_error(st, "MAP_DMA", ret);
				continue;
			}
			atomic_fetch_add(&st->maps, 1);
			last_iova = iova;
			last_size = npages * PG;
		} else if (op < 13 && last_size) {
			/* What this thread mapped last; maybe gone already */
			stress_unmap(st, last_iova, last_size, 0, true);
			last_size = 0;
		} else if (op < 15) {
			/* Some thread's whole window: never cuts a range */
			stress_unmap(st, WINDOW_BASE + (r >> 32) %
				     STRESS_THREADS * WINDOW_SIZE, WINDOW_SIZE,
				     0, false);
		} else if (!((r >> 32) % 64)) {
			/* Rarely, everything (the stable range too: remap) */
			stress_unmap(st, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, false);
			ret = _map(st->container, STABLE_IOVA, STABLE_SIZE,
				   st->stable, RW);
			if (ret && ret != -EEXIST)
				stress_error(st, "MAP_DMA (stable)", ret);
		}
	}
	return NULL;
}

/* The device keeps copying through the stable range, and must get it right */
static void *stress_dma(void *arg)
{
	struct stress *st = arg;
	const size_t len = 256;
	unsigned int k = 0;
	int ret;

	while (!atomic_load(&st->stop) && now_s() < st->deadline) {
		k++;
		memset(st->stable, k & 0xff, len);
		memset(st->stable + PG, 0, len);
		ret = edu_read_iova(st->edu, STABLE_IOVA, len);
		if (!ret)
			ret = edu_write_iova(st->edu, STABLE_IOVA + PG, len);
		if (ret) {
			stress_error(st, "edu DMA", ret);
			break;
		}
		/* An unmap-all may have raced the transfer: check when whole */
		if (st->stable[PG] == (char)(k & 0xff) &&
		    !memcmp(st->stable, st->stable + PG, len))
			atomic_fetch_add(&st->dma_checks, 1);
	}
	return NULL;
}

FIXTURE(stress)
{
	struct edu_container ec;
	long locked_before;
	long pins_before;
};

FIXTURE_VARIANT(stress)
{
	unsigned long type;
	bool close_at_end;	/* else UNMAP_DMA(ALL), then close */
};

FIXTURE_VARIANT_ADD(stress, v2_unmap_all)
{
	.type = VFIO_TYPE1v2_IOMMU,
	.close_at_end = false,
};

FIXTURE_VARIANT_ADD(stress, v1_close)
{
	.type = VFIO_TYPE1_IOMMU,
	.close_at_end = true,
};

FIXTURE_SETUP(stress)
{
	edu_fixture_setup(_metadata, &self->ec, variant->type, true,
			  &self->locked_before, &self->pins_before);
}

FIXTURE_TEARDOWN(stress)
{
	edu_fixture_teardown(_metadata, &self->ec, &self->locked_before,
			     &self->pins_before, 2000);
}

TEST_F_TIMEOUT(stress, threads_map_and_unmap_and_every_pin_comes_back, 120)
{
	struct stress_thread threads[STRESS_THREADS];
	pthread_t tid[STRESS_THREADS], dma_tid;
	long locked, pins, expect_pages;
	struct stress st = {
		.container = self->ec.container,
		.v2 = variant->type == VFIO_TYPE1v2_IOMMU,
		.edu = &self->ec.edu,
	};
	__u64 left = 0;
	int i;

	st.buf = test_backing("thp", STRESS_BUF);
	ASSERT_NE(NULL, st.buf);
	madvise(st.buf + STRESS_BUF / 2, STRESS_BUF / 2, MADV_NOHUGEPAGE);
	memset(st.buf, 0x11, STRESS_BUF);
	st.stable = test_backing("4k", STABLE_SIZE);
	ASSERT_NE(NULL, st.stable);
	memset(st.stable, 0, STABLE_SIZE);
	ASSERT_EQ(0, _map(st.container, STABLE_IOVA, STABLE_SIZE, st.stable,
			  RW));

	st.deadline = now_s() + STRESS_SECONDS;
	for (i = 0; i < STRESS_THREADS; i++) {
		threads[i].st = &st;
		threads[i].id = i;
		threads[i].rnd = 0x9e3779b97f4a7c15ULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, stress_mapper,
					    &threads[i]));
	}
	ASSERT_EQ(0, pthread_create(&dma_tid, NULL, stress_dma, &st));
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(tid[i], NULL);
	atomic_store(&st.stop, true);
	pthread_join(dma_tid, NULL);

	TH_LOG("%ld maps, %ld unmaps, %ld DMA round trips checked",
	       atomic_load(&st.maps), atomic_load(&st.unmaps),
	       atomic_load(&st.dma_checks));
	ASSERT_EQ(0, atomic_load(&st.errors));
	ASSERT_LT(100, atomic_load(&st.maps));
	ASSERT_LT(0, atomic_load(&st.dma_checks));

	/* What is still mapped is exactly what is pinned and charged */
	locked = vm_locked_kb();
	pins = pins_outstanding();
	if (variant->close_at_end) {
		ASSERT_LE(self->locked_before, locked);
		ASSERT_EQ((locked - self->locked_before) / 4,
			  pins - self->pins_before);
		edu_container_close(&self->ec);
	} else {
		ASSERT_EQ(0, _unmap(st.container, 0, 0,
				    VFIO_DMA_UNMAP_FLAG_ALL, &left));
		expect_pages = left / PG;
		ASSERT_LT(0, expect_pages);	/* the stable range at least */
		ASSERT_EQ(self->locked_before + expect_pages * 4, locked);
		ASSERT_EQ(self->pins_before + expect_pages, pins);
	}
	ASSERT_EQ(self->locked_before, vm_locked_kb());
	ASSERT_EQ(self->pins_before, pins_settle(self->pins_before, 2000));
}

/* ---- one process, two threads ---------------------------------------- */

struct thread_map {
	int container;
	__u64 iova;
	__u64 size;
	void *vaddr;
	int ret;
};

static void *thread_map_fn(void *arg)
{
	struct thread_map *m = arg;

	m->ret = _map(m->container, m->iova, m->size, m->vaddr, RW);
	return NULL;
}

static void *thread_unmap_fn(void *arg)
{
	struct thread_map *m = arg;
	__u64 done = 0;

	m->ret = _unmap(m->container, m->iova, m->size, 0, &done);
	if (!m->ret && done != m->size)
		m->ret = -ERANGE;
	return NULL;
}

FIXTURE(owner)
{
	struct edu_container ec;
	long locked_before;
	long pins_before;
};

FIXTURE_SETUP(owner)
{
	edu_fixture_setup(_metadata, &self->ec, VFIO_TYPE1v2_IOMMU, false,
			  &self->locked_before, &self->pins_before);
}

FIXTURE_TEARDOWN(owner)
{
	edu_fixture_teardown(_metadata, &self->ec, &self->locked_before,
			     &self->pins_before, 2000);
}

#define OWNER_SIZE	(4 * MIB)
#define OWNER_IOVA	0x1000000UL
#define OWNER_KB	((long)(OWNER_SIZE >> 10))

static void *owner_buf(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x22, size);
	return p;
}

TEST_F(owner, unmap_from_another_thread_refunds_the_process)
{
	struct thread_map m = {
		.container = self->ec.container,
		.iova = OWNER_IOVA,
		.size = OWNER_SIZE,
		.vaddr = owner_buf(OWNER_SIZE),
	};
	pthread_t t;

	ASSERT_NE(NULL, m.vaddr);
	ASSERT_EQ(0, pthread_create(&t, NULL, thread_map_fn, &m));
	pthread_join(t, NULL);
	ASSERT_EQ(0, m.ret);
	ASSERT_EQ(self->locked_before + OWNER_KB, vm_locked_kb());

	/* The mapping thread is gone by now; another one unmaps */
	m.ret = 1;
	ASSERT_EQ(0, pthread_create(&t, NULL, thread_unmap_fn, &m));
	pthread_join(t, NULL);
	ASSERT_EQ(0, m.ret);
	ASSERT_EQ(self->locked_before, vm_locked_kb());
	ASSERT_EQ(self->pins_before, pins_outstanding());
}

/* ---- two processes ---------------------------------------------------- */

/* A child's exit code: 0, or the number of the step that went wrong */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 1000 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* One byte through a pipe: "go on" */
static int signal_fd(int fd)
{
	return write(fd, "x", 1) == 1 ? 0 : -1;
}

static int wait_fd(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

TEST_F(owner, unmap_by_another_process_refunds_the_mapper)
{
	void *buf = owner_buf(OWNER_SIZE);
	pid_t pid;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, _map(self->ec.container, OWNER_IOVA, OWNER_SIZE, buf, RW));
	ASSERT_EQ(self->locked_before + OWNER_KB, vm_locked_kb());

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long mine = vm_locked_kb();
		__u64 done = 0;

		if (_unmap(self->ec.container, OWNER_IOVA, OWNER_SIZE, 0, &done))
			_exit(1);
		if (done != OWNER_SIZE)
			_exit(2);
		/* Nothing was refunded to the process that only unmapped */
		if (vm_locked_kb() != mine)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(self->locked_before, vm_locked_kb());
	ASSERT_EQ(self->pins_before, pins_outstanding());
}

TEST_F(owner, map_by_a_child_is_charged_to_the_child)
{
	int to_parent[2], to_child[2];
	void *buf = owner_buf(OWNER_SIZE);
	__u64 done = 0;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, pipe(to_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long mine = vm_locked_kb();

		if (_map(self->ec.container, OWNER_IOVA, OWNER_SIZE, buf, RW))
			_exit(1);
		if (vm_locked_kb() != mine + OWNER_KB)
			_exit(2);
		if (signal_fd(to_parent[1]) || wait_fd(to_child[0]))
			_exit(3);
		/* The parent unmapped: the refund came back here */
		if (vm_locked_kb() != mine)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(0, wait_fd(to_parent[0]));
	/* The child's pages are pinned; the parent pays nothing */
	ASSERT_EQ(self->locked_before, vm_locked_kb());
	ASSERT_EQ(self->pins_before + (long)(OWNER_SIZE / PG),
		  pins_outstanding());
	ASSERT_EQ(0, _unmap(self->ec.container, OWNER_IOVA, OWNER_SIZE, 0,
			    &done));
	ASSERT_EQ(OWNER_SIZE, done);
	ASSERT_EQ(0, signal_fd(to_child[1]));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(self->locked_before, vm_locked_kb());
}

TEST_F(owner, memlock_limit_is_the_mappers)
{
	void *buf = owner_buf(2 * MIB);
	pid_t pid;

	ASSERT_NE(NULL, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { .rlim_cur = MIB, .rlim_max = MIB };
		long pins = pins_outstanding();

		if (drop_cap_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(1);
		if (_map(self->ec.container, OWNER_IOVA, 2 * MIB, buf, RW) !=
		    -ENOMEM)
			_exit(2);
		if (pins_outstanding() != pins)
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* The container's opener, with CAP_IPC_LOCK, may */
	ASSERT_EQ(0, _map(self->ec.container, OWNER_IOVA, 2 * MIB, buf, RW));
	ASSERT_EQ(0, _unmap(self->ec.container, OWNER_IOVA, 2 * MIB, 0, NULL));
}

/* ---- process exit with live mappings ---------------------------------- */

/*
 * The child maps into the container it shares with its parent and exits.
 * Its pages stay pinned and mapped (the device may still be using them)
 * until the parent unmaps; nobody but the dead child was ever charged.
 */
TEST_F(owner, mapping_outlives_the_process_that_made_it)
{
	int ready[2], kmsg;
	__u64 done = 0;
	struct edu edu;
	char *check;
	pid_t pid;

	ASSERT_EQ(0, edu_open(self->ec.group, &edu));
	check = owner_buf(PG);
	ASSERT_NE(NULL, check);
	ASSERT_EQ(0, _map(self->ec.container, 0x10000, PG, check, RW));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *buf = owner_buf(OWNER_SIZE);

		if (!buf)
			_exit(1);
		memset(buf, 0x6b, OWNER_SIZE);
		if (_map(self->ec.container, OWNER_IOVA, OWNER_SIZE, buf, RW))
			_exit(2);
		_exit(signal_fd(ready[1]) ? 3 : 0);
	}
	ASSERT_EQ(0, wait_fd(ready[0]));
	ASSERT_EQ(0, wait_child(pid));

	/* Still pinned, still mapped: the device reads the dead child's data */
	ASSERT_EQ(self->pins_before + 1 + (long)(OWNER_SIZE / PG),
		  pins_settle(self->pins_before + 1 + OWNER_SIZE / PG, 1000));
	kmsg = kmsg_open();
	ASSERT_EQ(0, edu_read_iova(&edu, OWNER_IOVA + 3 * PG, 64));
	ASSERT_EQ(0, edu_write_iova(&edu, 0x10000, 64));
	ASSERT_EQ(0x6b, check[0]);
	ASSERT_EQ(0x6b, check[63]);
	ASSERT_FALSE(kmsg_find(kmsg, "DMAR", 200));

	ASSERT_EQ(0, _unmap(self->ec.container, OWNER_IOVA, OWNER_SIZE, 0,
			    &done));
	ASSERT_EQ(OWNER_SIZE, done);
	ASSERT_EQ(self->locked_before + 4, vm_locked_kb());
	ASSERT_EQ(self->pins_before + 1, pins_outstanding());
	close(edu.fd);
}

/*
 * A process with its own container dies (SIGKILL, a DMA possibly still
 * in flight) without unmapping or closing anything: its exit releases
 * the container, every pin comes back and the group is free again.
 */
TEST(killed_process_with_live_mappings_releases_everything)
{
	int ready[2], container, group;
	long pins_before, pins_mapped;
	pid_t pid;
	void *buf;

	if (tb_noiommu_profile())
		SKIP(return, "type1 needs an IOMMU");
	ASSERT_EQ(0, tb_cmd("bind %s vfio-pci", TB_EDU_BDF));
	pins_before = pins_outstanding();
	ASSERT_LE(0, pins_before);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *thp = test_backing("thp", 4 * MIB);
		char *small = test_backing("4k", 4 * MIB);
		struct edu edu;

		if (!thp || !small)
			_exit(1);
		memset(thp, 1, 4 * MIB);
		memset(small, 2, 4 * MIB);
		if (container_with_edu(&container, &group,
				       VFIO_TYPE1v2_IOMMU) ||
		    edu_open(group, &edu))
			_exit(2);
		if (_map(container, 0x400000, 4 * MIB, thp, RW) ||
		    _map(container, 0x800000, 4 * MIB, small, RW))
			_exit(3);
		/* A transfer QEMU runs 100 ms from now, into the mapping */
		if (edu_read_iova(&edu, 0x400000, 64) ||
		    edu_dma_start(&edu, TB_EDU_DMA_BUF, 0x800000, 64, true))
			_exit(4);
		if (signal_fd(ready[1]))
			_exit(5);
		pause();
		_exit(6);
	}
	ASSERT_EQ(0, wait_fd(ready[0]));
	pins_mapped = pins_outstanding();
	ASSERT_EQ(pins_before + (long)(8 * MIB / PG), pins_mapped);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(1000 + SIGKILL, wait_child(pid));

	ASSERT_EQ(pins_before, pins_settle(pins_before, 2000));
	/* The group is free: another process maps through it right away */
	ASSERT_EQ(0, container_with_edu(&container, &group,
					VFIO_TYPE1v2_IOMMU));
	buf = owner_buf(2 * MIB);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, _map(container, 0x400000, 2 * MIB, buf, RW));
	close(group);
	close(container);
	ASSERT_EQ(pins_before, pins_settle(pins_before, 2000));
}

TEST_HARNESS_MAIN
