// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel-side consumers of eventfds (virqfd).
 *
 * A bus driver sometimes wants a signal on a user's eventfd to run kernel
 * code directly: QEMU, for one, passes an eventfd that KVM signals when the
 * guest EOIs a level interrupt, and vfio-pci should unmask INTx right there
 * rather than wait for a round trip through userspace.
 *
 * We hook a wait-queue entry onto the eventfd.  A signal runs @handler in
 * the waker's (atomic) context; if it returns non-zero, or there is no
 * handler, @thread runs later from a work item.  The eventfd going away
 * (POLLHUP) or vfio_virqfd_disable() detaches the consumer; the teardown
 * itself runs on a dedicated workqueue so that disable can wait for it
 * without deadlocking against a concurrent hang-up.
 *
 * *pvirqfd, the caller's handle, is only read or written under
 * vfio_virqfd_lock; whoever clears it owns the teardown.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "vfio.h"

/**
 * struct virqfd - a kernel consumer of one eventfd
 * @opaque: first argument of @handler and @thread
 * @data: second argument of @handler and @thread
 * @handler: runs in atomic context on every signal; optional
 * @thread: runs in process context when @handler asks for it; optional
 * @eventfd: the eventfd; a context reference is held
 * @wait: our entry on the eventfd's wait queue
 * @pt: poll table used once, to add @wait to the queue
 * @run_thread: work item that runs @thread
 * @teardown: work item that detaches and frees us
 * @handle: the caller's pointer to us
 */
struct virqfd {
	void *opaque;
	void *data;
	int (*handler)(void *opaque, void *data);
	void (*thread)(void *opaque, void *data);
	struct eventfd_ctx *eventfd;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct run_thread;
	struct work_struct teardown;
	struct virqfd **handle;
};

static struct workqueue_struct *vfio_virqfd_wq;
static DEFINE_SPINLOCK(vfio_virqfd_lock);

/* Start the teardown if nobody else did; vfio_virqfd_lock is held. */
static void vfio_virqfd_kill(struct virqfd *virqfd)
{
	lockdep_assert_held(&vfio_virqfd_lock);

	if (*virqfd->handle != virqfd)
		return;
	*virqfd->handle = NULL;
	queue_work(vfio_virqfd_wq, &virqfd->teardown);
}

static int vfio_virqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			      int sync, void *key)
{
	struct virqfd *virqfd = container_of(wait, struct virqfd, wait);
	__poll_t events = key_to_poll(key);
	unsigned long flags;
	u64 cnt;

	if (events & EPOLLIN) {
		/* Consume the signal so the next one wakes us again. */
		eventfd_ctx_do_read(virqfd->eventfd, &cnt);
		if (!virqfd->handler ||
		    virqfd->handler(virqfd->opaque, virqfd->data))
			schedule_work(&virqfd->run_thread);
	}

	if (events & EPOLLHUP) {
		spin_lock_irqsave(&vfio_virqfd_lock, flags);
		vfio_virqfd_kill(virqfd);
		spin_unlock_irqrestore(&vfio_virqfd_lock, flags);
	}
	return 0;
}

static void vfio_virqfd_queue(struct file *file, wait_queue_head_t *wqh,
			      poll_table *pt)
{
	struct virqfd *virqfd = container_of(pt, struct virqfd, pt);

	add_wait_queue(wqh, &virqfd->wait);
}

static void vfio_virqfd_run_thread(struct work_struct *work)
{
	struct virqfd *virqfd = container_of(work, struct virqfd, run_thread);

	if (virqfd->thread)
		virqfd->thread(virqfd->opaque, virqfd->data);
}

static void vfio_virqfd_teardown(struct work_struct *work)
{
	struct virqfd *virqfd = container_of(work, struct virqfd, teardown);
	u64 cnt;

	eventfd_ctx_remove_wait_queue(virqfd->eventfd, &virqfd->wait, &cnt);
	flush_work(&virqfd->run_thread);
	eventfd_ctx_put(virqfd->eventfd);
	kfree(virqfd);
}

/**
 * vfio_virqfd_enable - run kernel code when an eventfd is signalled
 * @opaque: first argument of @handler and @thread
 * @handler: called in atomic context on each signal; return non-zero to
 *           have @thread run too.  May be NULL.
 * @thread: called in process context; may be NULL
 * @data: second argument of @handler and @thread
 * @pvirqfd: the caller's handle, must be NULL; set while enabled
 * @fd: the eventfd
 *
 * If the eventfd was already signalled, @handler runs before this returns.
 *
 * Return: 0 or a negative errno; undo with vfio_virqfd_disable(), which is
 * also safe if userspace closed the eventfd meanwhile.
 */
int vfio_virqfd_enable(void *opaque, int (*handler)(void *, void *),
		       void (*thread)(void *, void *), void *data,
		       struct virqfd **pvirqfd, int fd)
{
	struct eventfd_ctx *ctx;
	struct virqfd *virqfd;
	__poll_t events;
	struct fd f;
	int ret;

	f = fdget(fd);
	if (fd_empty(f))
		return -EBADF;

	virqfd = kzalloc(sizeof(*virqfd), GFP_KERNEL_ACCOUNT);
	if (!virqfd) {
		ret = -ENOMEM;
		goto err_fdput;
	}
	virqfd->opaque = opaque;
	virqfd->data = data;
	virqfd->handler = handler;
	virqfd->thread = thread;
	virqfd->handle = pvirqfd;
	INIT_WORK(&virqfd->run_thread, vfio_virqfd_run_thread);
	INIT_WORK(&virqfd->teardown, vfio_virqfd_teardown);

	ctx = eventfd_ctx_fileget(fd_file(f));
	if (IS_ERR(ctx)) {
		ret = PTR_ERR(ctx);
		goto err_free;
	}
	virqfd->eventfd = ctx;

	spin_lock_irq(&vfio_virqfd_lock);
	if (*pvirqfd) {
		spin_unlock_irq(&vfio_virqfd_lock);
		ret = -EBUSY;
		goto err_put;
	}
	*pvirqfd = virqfd;
	spin_unlock_irq(&vfio_virqfd_lock);

	init_waitqueue_func_entry(&virqfd->wait, vfio_virqfd_wakeup);
	init_poll_funcptr(&virqfd->pt, vfio_virqfd_queue);
	events = vfs_poll(fd_file(f), &virqfd->pt);

	/* A signal that came before we were on the queue is not lost. */
	if (events & EPOLLIN) {
		if (!handler || handler(opaque, data))
			schedule_work(&virqfd->run_thread);
	}
	fdput(f);
	return 0;

err_put:
	eventfd_ctx_put(ctx);
err_free:
	kfree(virqfd);
err_fdput:
	fdput(f);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_virqfd_enable);

/**
 * vfio_virqfd_disable - undo vfio_virqfd_enable()
 * @pvirqfd: the caller's handle; NULL afterwards
 *
 * Returns once the handler and thread can no longer run.
 */
void vfio_virqfd_disable(struct virqfd **pvirqfd)
{
	unsigned long flags;

	spin_lock_irqsave(&vfio_virqfd_lock, flags);
	if (*pvirqfd)
		vfio_virqfd_kill(*pvirqfd);
	spin_unlock_irqrestore(&vfio_virqfd_lock, flags);

	/* Also waits for a teardown a hang-up started. */
	flush_workqueue(vfio_virqfd_wq);
}
EXPORT_SYMBOL_GPL(vfio_virqfd_disable);

/**
 * vfio_virqfd_flush_thread - run the thread once more and wait for it
 * @pvirqfd: the caller's handle
 *
 * For a driver that changed state the thread looks at and wants the
 * thread's view to be current before going on.
 */
void vfio_virqfd_flush_thread(struct virqfd **pvirqfd)
{
	struct virqfd *virqfd;
	unsigned long flags;

	spin_lock_irqsave(&vfio_virqfd_lock, flags);
	virqfd = *pvirqfd;
	if (virqfd && virqfd->thread)
		queue_work(vfio_virqfd_wq, &virqfd->run_thread);
	spin_unlock_irqrestore(&vfio_virqfd_lock, flags);

	if (virqfd)
		flush_workqueue(vfio_virqfd_wq);
}
EXPORT_SYMBOL_GPL(vfio_virqfd_flush_thread);

int __init vfio_virqfd_init(void)
{
	vfio_virqfd_wq = alloc_workqueue("vfio-virqfd", WQ_UNBOUND, 0);
	return vfio_virqfd_wq ? 0 : -ENOMEM;
}

void vfio_virqfd_exit(void)
{
	destroy_workqueue(vfio_virqfd_wq);
}
