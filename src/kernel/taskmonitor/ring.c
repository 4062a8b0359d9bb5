// SPDX-License-Identifier: GPL-2.0
/*
 * The ring of records between a producer (a stream's sampling work, the
 * exit hook) and read() and poll() of the subscribed file.
 *
 * A record is a struct of the uapi that starts with its __u64 @seq and
 * has a __u64 @lost somewhere: the ring numbers the records it queues,
 * drops the oldest when full, and read() tells the reader how many it
 * lost from the gap in the numbers.  Records are copied to user space
 * while still queued and removed only once the copy worked, so a bad
 * buffer loses nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include "taskmonitor.h"

/* Bytes of records copied to user space per round of tm_ring_read(). */
#define TM_READ_BYTES	512

/*
 * A subscription's memory is charged to the subscriber's memory cgroup,
 * and an allocation that does not fit fails with ENOMEM rather than
 * invoking the OOM killer (__GFP_RETRY_MAYFAIL): the subscriber asks for
 * a smaller ring.  That failure is the caller's answer, not the kernel's
 * problem, so it is not logged either (__GFP_NOWARN: no warn_alloc()
 * report per refusal).
 */
#define TM_SUB_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/**
 * tm_sub_zalloc() - zeroed memory for a subscription, freed with kvfree()
 * @size: bytes
 *
 * Above the costly order straight from vmalloc: kvmalloc() with
 * __GFP_RETRY_MAYFAIL would first try hard (reclaim, compaction) for
 * contiguous pages that a ring does not need.
 *
 * Return: the memory, or NULL.
 */
void *tm_sub_zalloc(size_t size)
{
	if (size > PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER)
		return __vmalloc(size, TM_SUB_GFP | __GFP_ZERO);
	return kvzalloc(size, TM_SUB_GFP);
}

/**
 * tm_ring_init() - set up an empty ring
 * @r: the ring
 * @size: how many records it holds
 * @elem_size: the module's size of a record
 * @lost_offset: where a record's __u64 @lost is
 * @record_size: the reader's size of a record (tm_check_size() accepted it)
 *
 * Return: 0, or -ENOMEM in the caller's memory cgroup.
 */
int tm_ring_init(struct tm_ring *r, u32 size, u32 elem_size, u32 lost_offset,
		 u32 record_size)
{
	if (WARN_ON_ONCE(elem_size > TM_READ_BYTES))
		return -EINVAL;
	r->slots = tm_sub_zalloc(array_size(size, elem_size));
	if (!r->slots)
		return -ENOMEM;
	r->size = size;
	r->elem_size = elem_size;
	r->lost_offset = lost_offset;
	r->record_size = record_size;
	spin_lock_init(&r->lock);
	mutex_init(&r->read_lock);
	init_waitqueue_head(&r->wait);
	return 0;
}

/* Free the records of @r (nothing may push or read any more). */
void tm_ring_destroy(struct tm_ring *r)
{
	kvfree(r->slots);
}

static void *slot(struct tm_ring *r, u32 i)
{
	return r->slots + (size_t)(i % r->size) * r->elem_size;
}

static u64 rec_seq(const void *rec)
{
	return *(const u64 *)rec;
}

/**
 * tm_ring_push() - queue a record, dropping the oldest if the ring is full
 * @r: the ring
 * @rec: the record (the module's size); its @seq is set here
 *
 * Context: process context; takes @r->lock.  Does not wake readers.
 */
void tm_ring_push(struct tm_ring *r, void *rec)
{
	spin_lock(&r->lock);
	*(u64 *)rec = r->seq++;
	if (r->count == r->size) {
		/* The reader counts the gap in seq as lost records. */
		r->head = (r->head + 1) % r->size;
		r->count--;
	}
	memcpy(slot(r, r->head + r->count), rec, r->elem_size);
	r->count++;
	spin_unlock(&r->lock);
}

/**
 * tm_ring_skip() - count a record lost before it reached the ring
 * @r: the ring
 *
 * Its number is skipped: the reader counts it in the next record's @lost.
 * Context: any but hard interrupt; takes @r->lock.
 */
void tm_ring_skip(struct tm_ring *r)
{
	spin_lock(&r->lock);
	r->seq++;
	spin_unlock(&r->lock);
}

/* Wake the readers and pollers of @r: records are queued. */
void tm_ring_wake(struct tm_ring *r)
{
	wake_up_interruptible_poll(&r->wait, EPOLLIN | EPOLLRDNORM);
}

/* No record will follow those queued: read() ends once they are read. */
void tm_ring_end(struct tm_ring *r)
{
	spin_lock(&r->lock);
	r->done = true;
	spin_unlock(&r->lock);
	wake_up_interruptible_poll(&r->wait, EPOLLIN | EPOLLHUP);
}

static bool ring_readable(struct tm_ring *r)
{
	bool readable;

	spin_lock(&r->lock);
	readable = r->count || r->done;
	spin_unlock(&r->lock);
	return readable;
}

/*
 * Copy up to @max records, oldest first, into @out without removing them;
 * Return: how many, and *@done if there are none and will be none.
 */
static unsigned int ring_peek(struct tm_ring *r, void *out, unsigned int max,
			      bool *done)
{
	unsigned int i, n;

	spin_lock(&r->lock);
	n = min(r->count, max);
	for (i = 0; i < n; i++)
		memcpy(out + i * r->elem_size, slot(r, r->head + i),
		       r->elem_size);
	*done = !r->count && r->done;
	spin_unlock(&r->lock);
	return n;
}

/* Remove the records up to number @last that are still queued. */
static void ring_consume(struct tm_ring *r, u64 last)
{
	spin_lock(&r->lock);
	while (r->count && rec_seq(slot(r, r->head)) <= last) {
		r->head = (r->head + 1) % r->size;
		r->count--;
	}
	spin_unlock(&r->lock);
}

/*
 * Hand out whole records.  The producer may drop the oldest meanwhile;
 * the gap in the numbers then shows in the next record's @lost.
 */
static ssize_t ring_read(struct tm_ring *r, char __user *buf, size_t len,
			 bool nonblock)
{
	u8 batch[TM_READ_BYTES] __aligned(8);
	unsigned int i, n, max = TM_READ_BYTES / r->elem_size;
	size_t copied = 0;
	u64 first = 0;
	bool done;
	int err;

	while (!ring_peek(r, batch, 1, &done)) {
		if (done)
			return 0;
		if (nonblock)
			return -EAGAIN;
		err = wait_event_interruptible(r->wait, ring_readable(r));
		if (err)
			return err;
	}

	while (len - copied >= r->record_size) {
		n = ring_peek(r, batch,
			      min_t(size_t, max, (len - copied) / r->record_size),
			      &done);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			void *rec = batch + i * r->elem_size;
			u64 seq = rec_seq(rec);

			if (!i)
				first = r->next_read;
			*(u64 *)(rec + r->lost_offset) = seq - r->next_read;
			r->next_read = seq + 1;
		}
		if (tm_copy_array(buf + copied, r->record_size, batch,
				  r->elem_size, n)) {
			/* Nothing consumed: the next read gets them again. */
			r->next_read = first;
			return copied ? copied : -EFAULT;
		}
		ring_consume(r, r->next_read - 1);
		copied += n * r->record_size;
	}
	return copied;
}

/**
 * tm_ring_read() - read() of a subscribed file: whole records of @r
 * @r: the file's ring
 * @file: the file
 * @buf: where to copy whole records of the size the subscription agreed
 * @len: its size, at least one record
 *
 * Return: the bytes copied, 0 once the ring ended and was read, -EINVAL
 * for a buffer smaller than a record, -EAGAIN (O_NONBLOCK) or
 * -ERESTARTSYS when no record is queued, -EFAULT.
 */
ssize_t tm_ring_read(struct tm_ring *r, struct file *file, char __user *buf,
		     size_t len)
{
	ssize_t ret;

	if (len < r->record_size)
		return -EINVAL;
	if (file->f_flags & O_NONBLOCK) {
		if (!mutex_trylock(&r->read_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&r->read_lock)) {
		return -ERESTARTSYS;
	}
	ret = ring_read(r, buf, len, file->f_flags & O_NONBLOCK);
	mutex_unlock(&r->read_lock);
	return ret;
}

/**
 * tm_ring_poll() - poll() of a subscribed file
 * @r: the file's ring
 * @file: the file
 * @wait: the poll table
 *
 * Return: EPOLLIN while records are queued, EPOLLHUP once the ring ended
 * and every record was read.
 */
__poll_t tm_ring_poll(struct tm_ring *r, struct file *file, poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &r->wait, wait);
	spin_lock(&r->lock);
	if (r->count)
		mask |= EPOLLIN | EPOLLRDNORM;
	else if (r->done)
		mask |= EPOLLHUP;
	spin_unlock(&r->lock);
	return mask;
}
