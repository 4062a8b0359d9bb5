// SPDX-License-Identifier: GPL-2.0
/*
 * TM_LIST: every process (thread group) the caller's pid namespace can see,
 * as (pid, start time) pairs, into a caller-sized array
 * (include/uapi/linux/taskmon.h).
 *
 * The walk is /proc's own (fs/proc/base.c, next_tgid()): find_ge_pid() in
 * ascending order of pid, keeping the pids that name a thread group.  It
 * goes in chunks: up to LIST_CHUNK processes, found in at most
 * LIST_LOOKUPS lookups, are read under rcu_read_lock() into a small
 * kernel buffer, the lock is dropped, the chunk is copied to user space,
 * and the walk resumes at the next pid.  So no lock is held across
 * copy_to_user(), an RCU read section is short even in a namespace full
 * of threads (whose pids are looked up and skipped), the memory used is
 * one chunk whatever the number of processes, no pid is listed twice (the
 * walk only goes up), and nothing is referenced once the lock is dropped
 * (a chunk holds numbers, not pointers).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/time_namespace.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "taskmonitor.h"

/* Processes read per RCU read section: 4 KiB of buffer, a short section. */
#define LIST_CHUNK	(PAGE_SIZE / sizeof(struct taskmon_proc))

/*
 * Pids looked up per RCU read section, processes or threads: a thread's
 * pid costs a lookup and gives no entry, so without this bound a
 * namespace of threads would hold one section for pid_max lookups.
 */
#define LIST_LOOKUPS	(4 * LIST_CHUNK)

/* *@next once the walk has passed the last pid. */
#define LIST_END	INT_MAX

/*
 * Read up to @max processes of @ns from pid number *@next on into @buf, in
 * at most LIST_LOOKUPS lookups; *@next is left at the first pid not looked
 * at, LIST_END when none is left.  Return: how many were read.
 */
static unsigned int read_chunk(struct pid_namespace *ns, int *next,
			       struct taskmon_proc *buf, unsigned int max)
{
	unsigned int lookups = 0, n = 0;
	struct task_struct *task;
	struct pid *pid;
	int nr = *next;

	rcu_read_lock();
	while (n < max && lookups++ < LIST_LOOKUPS) {
		pid = find_ge_pid(nr, ns);
		if (!pid) {
			/* The end: no pid is left at or above nr. */
			nr = LIST_END;
			break;
		}
		nr = pid_nr_ns(pid, ns);
		/* A thread's pid has no thread group: skipped, as /proc does. */
		task = pid_task(pid, PIDTYPE_TGID);
		if (task) {
			/* task_struct is freed after a grace period: readable here. */
			buf[n].pid = nr;
			buf[n].reserved = 0;
			buf[n].start_time_ns =
				timens_add_boottime_ns(READ_ONCE(task->start_boottime));
			n++;
		}
		if (nr == LIST_END)
			break;
		nr++;
	}
	rcu_read_unlock();
	*next = nr;
	return n;
}

/*
 * The caller's request, checked: see struct taskmon_list.  Only its inputs
 * are read (its first TM_LIST_SIZE_VER0 bytes, whose outputs are cleared
 * here): the bytes past this module's struct are outputs of a newer one,
 * which put_answer() clears (docs/abi.md).
 */
static int read_request(struct taskmon_list *req,
			const struct taskmon_list __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, &uarg->size))
		return -EFAULT;
	err = tm_check_size(usize, TM_LIST_SIZE_VER0);
	if (err)
		return err;
	if (copy_from_user(req, uarg, TM_LIST_SIZE_VER0))
		return -EFAULT;
	req->total = 0;
	req->time_ns = 0;
	if (req->flags || req->reserved)
		return -EINVAL;
	err = tm_check_size(req->entry_size, TM_PROC_SIZE_VER0);
	if (err)
		return err;
	if (req->count > TM_LIST_MAX)
		return -E2BIG;
	return 0;
}

/*
 * Write the outputs of @req to the caller's struct (@req->size bytes), as
 * copy_struct_to_user() would: the fields this module knows, zeros past
 * them.
 */
static int put_answer(struct taskmon_list __user *uarg,
		      const struct taskmon_list *req)
{
	if (put_user(req->total, &uarg->total) ||
	    put_user(req->time_ns, &uarg->time_ns))
		return -EFAULT;
	if (req->size > sizeof(*req) &&
	    clear_user((char __user *)uarg + sizeof(*req),
		       req->size - sizeof(*req)))
		return -EFAULT;
	return 0;
}

/**
 * tm_list() - TM_LIST: list the processes of the caller's pid namespace
 * @uarg: the caller's struct taskmon_list
 *
 * Return: with @count 0, the number of processes; else the number of
 * entries written when all fitted, or -ERANGE when more were found (the
 * first @count are written); @total and @time_ns are written in both
 * cases.  -EFAULT; -EINVAL for a size or entry size below its
 * *_SIZE_VER0 or not a multiple of 8, flags or a non-zero @reserved;
 * -E2BIG for a size or entry size above a page or a count above
 * TM_LIST_MAX; -ENOMEM; -EINTR if a fatal signal came first.
 */
long tm_list(struct taskmon_list __user *uarg)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct taskmon_list req;
	struct taskmon_proc *buf;
	char __user *entries;
	u32 total = 0;
	int next = 1;
	unsigned int n;
	u64 now;
	int err;

	err = read_request(&req, uarg);
	if (err)
		return err;
	entries = u64_to_user_ptr(req.entries);

	buf = kmalloc_array(LIST_CHUNK, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	now = timens_add_boottime_ns(ktime_get_boottime_ns());
	do {
		n = read_chunk(ns, &next, buf, LIST_CHUNK);
		/* Entries past the caller's array are counted, not copied. */
		if (total < req.count) {
			err = tm_copy_array(entries + (size_t)total * req.entry_size,
					    req.entry_size, buf, sizeof(*buf),
					    min_t(u32, n, req.count - total));
			if (err)
				goto out_free;
		}
		total += n;
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			goto out_free;
		}
		cond_resched();
	} while (next != LIST_END);

	req.total = total;
	req.time_ns = now;
	err = put_answer(uarg, &req);
	if (err)
		goto out_free;
	if (!req.count)
		err = total;
	else if (total > req.count)
		err = -ERANGE;
	else
		err = total;
out_free:
	kfree(buf);
	return err;
}
