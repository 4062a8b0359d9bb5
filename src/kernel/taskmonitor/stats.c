// SPDX-License-Identifier: GPL-2.0
/*
 * TM_STATS and TM_STATS_BATCH: the statistics of any process, or of one
 * thread, in the caller's pid namespace (include/uapi/linux/taskmon.h).
 *
 * A query for an explicit pid takes no lock of this module: the process
 * is looked up by its struct pid, referenced for the time of the query,
 * and read the way /proc reads it.  Pid 0 asks for the module's target:
 * its struct pid is referenced once, so the pid returned and the figures
 * are of the same process even if the target is switched meanwhile.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seqlock.h>
#include <linux/time_namespace.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include "taskmonitor.h"

/* The figures summed over a thread group. */
struct group_sums {
	u64 utime;
	u64 stime;
	u64 min_flt;
	u64 maj_flt;
	u64 nvcsw;
	u64 nivcsw;
	u32 threads;
};

/*
 * Sum the figures of every thread of the process @leader belongs to: the
 * live threads' own, plus what exited threads left in signal_struct, in
 * a read section of sig->stats_lock (read_thread_group()).
 *
 * Each live thread's CPU time is task_cputime_adjusted()'s, the figure of
 * /proc/PID/task/TID/stat: its precise runtime split in the ratio of its
 * tick samples, and right on nohz_full CPUs, where the raw fields lag.
 * The exited threads' runtime is split the same way, so user + system is
 * the process's runtime, as in /proc/PID/stat.
 */
/*
 * The CPU time of the threads that exited: their precise runtime, split
 * in the ratio of their tick samples as cputime_adjust() splits it.
 */
static void exited_cputime(struct signal_struct *sig, u64 *ut, u64 *st)
{
	u64 rtime = sig->sum_sched_runtime;
	u64 ticks = sig->utime + sig->stime;

	*st = ticks ? mul_u64_u64_div_u64(sig->stime, rtime, ticks) : 0;
	*ut = rtime - *st;
}

static void sum_group(struct signal_struct *sig, void *arg)
{
	struct group_sums *sum = arg;
	struct task_struct *t;
	u64 ut, st;

	exited_cputime(sig, &sum->utime, &sum->stime);
	sum->min_flt = sig->min_flt;
	sum->maj_flt = sig->maj_flt;
	sum->nvcsw = sig->nvcsw;
	sum->nivcsw = sig->nivcsw;
	sum->threads = READ_ONCE(sig->nr_threads);
	__for_each_thread(sig, t) {
		task_cputime_adjusted(t, &ut, &st);
		sum->utime += ut;
		sum->stime += st;
		sum->min_flt += READ_ONCE(t->min_flt);
		sum->maj_flt += READ_ONCE(t->maj_flt);
		sum->nvcsw += READ_ONCE(t->nvcsw);
		sum->nivcsw += READ_ONCE(t->nivcsw);
	}
}

static void group_sums(struct task_struct *leader, struct group_sums *sum)
{
	read_thread_group(leader->signal, sum_group, sum);
}

/* The figures of thread @t alone. */
static void thread_sums(struct task_struct *t, struct group_sums *sum)
{
	task_cputime_adjusted(t, &sum->utime, &sum->stime);
	sum->min_flt = READ_ONCE(t->min_flt);
	sum->maj_flt = READ_ONCE(t->maj_flt);
	sum->nvcsw = READ_ONCE(t->nvcsw);
	sum->nivcsw = READ_ONCE(t->nivcsw);
	sum->threads = get_nr_threads(t);
}

/**
 * process_cpu() - the CPU time of a process, as TM_STATS reads it
 * @pid: the process
 * @user_ns: set to its time in user mode
 * @system_ns: set to its time in kernel mode
 * @exited: set if it has exited (a zombie): the times are then final
 *
 * Return: 0, or -ESRCH once it has been reaped (or if @pid is no process).
 */
int process_cpu(struct pid *pid, u64 *user_ns, u64 *system_ns, bool *exited)
{
	struct task_struct *leader;
	struct group_sums sum;
	int err = -ESRCH;

	/* Read under RCU, as TM_STATS does: no reference taken. */
	rcu_read_lock();
	leader = pid_task(pid, PIDTYPE_TGID);
	if (leader) {
		group_sums(leader, &sum);
		*user_ns = sum.utime;
		*system_ns = sum.stime;
		*exited = process_exited(leader);
		err = 0;
	}
	rcu_read_unlock();
	return err;
}

/* The process id of @t in @ns (0 if not visible), as task_tgid_nr_ns(). */
static pid_t tgid_nr(struct task_struct *t, struct pid_namespace *ns)
{
	return pid_nr_ns(READ_ONCE(t->signal->pids[PIDTYPE_TGID]), ns);
}

/*
 * Ids, state and credentials of @t, seen from the caller's pid namespace
 * @ns and user namespace, as /proc/PID/stat and status show them.  Called
 * under rcu_read_lock(), which keeps @t, its parent and its creds readable.
 */
static void fill_ids(struct taskmon_stats *s, struct task_struct *t,
		     struct pid_namespace *ns)
{
	struct user_namespace *user_ns = current_user_ns();
	const struct cred *cred;

	s->tgid = tgid_nr(t, ns);
	s->ppid = pid_alive(t) ? tgid_nr(rcu_dereference(t->real_parent), ns) : 0;
	cred = __task_cred(t);
	s->uid = from_kuid_munged(user_ns, cred->uid);
	s->euid = from_kuid_munged(user_ns, cred->euid);
	s->gid = from_kgid_munged(user_ns, cred->gid);
	s->egid = from_kgid_munged(user_ns, cred->egid);
	s->state = task_index_to_char(task_state_index(t));
	s->mask |= TM_STATS_IDS | TM_STATS_PPID | TM_STATS_STATE |
		   TM_STATS_CREDS;
}

/*
 * The name of @t, and the resident and virtual memory of its address
 * space, under one task_lock(): the lock get_task_comm() takes, and the
 * one under which get_task_mm() reads @t->mm (exit_mm() clears @t->mm
 * under it before dropping the task's reference, so the mm is alive while
 * it is held, and no reference is taken).  Kernel threads (and exited
 * processes) have no memory: their memory bits stay clear.
 */
static void fill_locked(struct taskmon_stats *s, struct task_struct *t)
{
	struct mm_struct *mm;

	task_lock(t);
	strscpy_pad(s->comm, t->comm, sizeof(s->comm));
	s->mask |= TM_STATS_COMM;
	mm = t->mm;
	if (mm && !(t->flags & PF_KTHREAD)) {
		s->rss_anon_bytes = (u64)taskmon_mm_counter(mm, MM_ANONPAGES) << PAGE_SHIFT;
		s->rss_file_bytes = (u64)taskmon_mm_counter(mm, MM_FILEPAGES) << PAGE_SHIFT;
		s->rss_shmem_bytes = (u64)taskmon_mm_counter(mm, MM_SHMEMPAGES) << PAGE_SHIFT;
		s->vsize_bytes = (u64)READ_ONCE(mm->total_vm) << PAGE_SHIFT;
		s->mask |= TM_STATS_RSS | TM_STATS_VSIZE;
	}
	task_unlock(t);
}

/*
 * Fill @s with the statistics of @pid: of its thread if @thread, else of
 * its whole process.  @s->pid is set to @pid's number in the caller's pid
 * namespace; every other output field is expected zeroed.
 *
 * Called under rcu_read_lock(), which keeps the task_structs readable
 * (they are freed after a grace period): no reference is taken, so a
 * query costs no atomic operation on shared counters (docs/performance.md).
 * Nothing here sleeps.
 */
static int fill_stats(struct taskmon_stats *s, struct pid *pid, bool thread)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct task_struct *t;
	struct group_sums sum;

	s->pid = pid_nr_ns(pid, ns);
	if (!s->pid)
		return -ESRCH;
	t = pid_task(pid, PIDTYPE_PID);
	if (!t)
		return -ESRCH;
	/* A TID names its process, as /proc/TID/stat does. */
	if (!thread)
		t = READ_ONCE(t->group_leader);

	fill_ids(s, t, ns);
	if (thread)
		thread_sums(t, &sum);
	else
		group_sums(t, &sum);
	s->threads = sum.threads;
	s->user_ns = sum.utime;
	s->system_ns = sum.stime;
	s->minor_faults = sum.min_flt;
	s->major_faults = sum.maj_flt;
	s->voluntary_ctxsw = sum.nvcsw;
	s->involuntary_ctxsw = sum.nivcsw;
	s->mask |= TM_STATS_THREADS | TM_STATS_CPU | TM_STATS_FAULTS |
		   TM_STATS_CTXSW;

	fill_locked(s, t);
	s->start_time_ns = timens_add_boottime_ns(t->start_boottime);
	s->sample_time_ns = timens_add_boottime_ns(ktime_get_boottime_ns());
	s->mask |= TM_STATS_START_TIME | TM_STATS_SAMPLE_TIME;
	return 0;
}

/*
 * Answer the query in @s (its @pid and @flags already checked): look the
 * pid up in the caller's pid namespace, or take the module's target for
 * pid 0, and fill the rest of @s, all in one RCU read section.
 */
static int query(struct taskmon_stats *s)
{
	bool thread = s->flags & TM_STATS_THREAD;
	struct pid *pid;
	int err;

	if (s->pid < 0)
		return -EINVAL;
	rcu_read_lock();
	pid = s->pid ? find_vpid(s->pid) : monitor_target_rcu();
	if (pid)
		err = fill_stats(s, pid, thread);
	else
		err = s->pid ? -ESRCH : -ENODATA;
	rcu_read_unlock();
	return err;
}

/* The struct size a caller gives: from TM_STATS_SIZE_VER0 to a page. */
static bool valid_size(u32 usize)
{
	return usize >= TM_STATS_SIZE_VER0 && usize <= PAGE_SIZE;
}

/*
 * A caller's struct larger than the kernel's is accepted when the bytes
 * the kernel does not know are zero, as copy_struct_from_user() decides.
 * Only @pid is an input field beyond @size and @flags: the rest of the
 * struct is not copied in (copying it in would cost as much as copying it
 * out).
 *
 * Return: 0, -E2BIG or -EFAULT.
 */
static int check_tail(const struct taskmon_stats __user *uarg, u32 usize)
{
	int ret;

	if (usize <= sizeof(struct taskmon_stats))
		return 0;
	ret = check_zeroed_user((const char __user *)uarg + sizeof(struct taskmon_stats),
				usize - sizeof(struct taskmon_stats));
	if (ret < 0)
		return ret;
	return ret ? 0 : -E2BIG;
}

/* Start the answer to a query: every output field zero. */
static void init_query(struct taskmon_stats *s, u32 usize, u32 flags, s32 pid)
{
	memset(s, 0, sizeof(*s));
	s->size = usize;
	s->flags = flags;
	s->pid = pid;
}

/*
 * Store @s at @uarg, the @s->size bytes of the caller's struct or ours if
 * it is larger (check_tail() made its tail zero).  In one user-access
 * section: for a struct this small, copy_to_user()'s string copy and its
 * object-size checks cost more than word stores (docs/performance.md).
 */
static int put_stats(struct taskmon_stats __user *uarg,
		     const struct taskmon_stats *s)
{
	size_t len = min_t(size_t, s->size, sizeof(*s));

	if (!user_write_access_begin(uarg, len))
		return -EFAULT;
	unsafe_copy_to_user((char __user *)uarg, (const char *)s, len, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/**
 * tm_stats() - TM_STATS: fill the struct taskmon_stats at @uarg
 * @uarg: the caller's struct, whose @size says how large it is
 *
 * Return: 0; -EFAULT; -EINVAL for a bad size, unknown flags or a negative
 * pid; -E2BIG when the caller's struct is larger than the kernel's and
 * the extra bytes are not zero; -ENODATA for pid 0 without a target;
 * -ESRCH if there is no such process visible to the caller.
 */
long tm_stats(struct taskmon_stats __user *uarg)
{
	struct taskmon_stats s;
	u32 usize, flags;
	s32 pid;
	int err;

	if (get_user(usize, &uarg->size) || get_user(flags, &uarg->flags) ||
	    get_user(pid, &uarg->pid))
		return -EFAULT;
	if (!valid_size(usize) || flags & ~TM_STATS_FLAGS_ALL)
		return -EINVAL;
	err = check_tail(uarg, usize);
	if (err)
		return err;
	init_query(&s, usize, flags, pid);
	err = query(&s);
	if (err)
		return err;
	return put_stats(uarg, &s);
}

/**
 * tm_stats_batch() - TM_STATS_BATCH: fill every record of a batch
 * @uarg: the caller's struct taskmon_stats_batch
 *
 * Each record gets its own @error (0, -ESRCH, -ENODATA, -EINVAL for a
 * negative pid, -E2BIG for a non-zero tail); a record that is filled has
 * the fields of TM_STATS.
 *
 * Return: 0 once every record is answered; -EFAULT; -EINVAL for a bad
 * size, unknown flags, a non-zero @reserved or a count of 0; -E2BIG for a
 * count above TM_STATS_BATCH_MAX; -EINTR if a fatal signal came first.
 */
long tm_stats_batch(struct taskmon_stats_batch __user *uarg)
{
	struct taskmon_stats_batch batch;
	struct taskmon_stats s;
	char __user *rec;
	u32 i;
	int err;

	if (copy_from_user(&batch, uarg, sizeof(batch)))
		return -EFAULT;
	if (!valid_size(batch.size) || batch.flags & ~TM_STATS_FLAGS_ALL ||
	    batch.reserved || !batch.count)
		return -EINVAL;
	if (batch.count > TM_STATS_BATCH_MAX)
		return -E2BIG;

	rec = u64_to_user_ptr(batch.records);
	for (i = 0; i < batch.count; i++, rec += batch.size) {
		struct taskmon_stats __user *urec = (void __user *)rec;
		s32 nr;

		if (get_user(nr, &urec->pid))
			return -EFAULT;
		err = check_tail(urec, batch.size);
		if (err == -EFAULT)
			return err;
		init_query(&s, batch.size, batch.flags, nr);
		if (!err)
			err = query(&s);
		if (err) {
			/* A failed record: its input fields and its error. */
			init_query(&s, batch.size, batch.flags, nr);
			s.error = err;
		}
		if (put_stats(urec, &s))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}
