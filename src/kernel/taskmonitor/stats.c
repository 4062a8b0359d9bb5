// SPDX-License-Identifier: GPL-2.0
/*
 * TM_STATS and TM_STATS_BATCH: the statistics of any process, or of one
 * thread, in the caller's pid namespace (include/uapi/linux/taskmon.h).
 *
 * A query takes no lock of this module and no reference: the process is
 * looked up and read in one RCU read section, the way /proc reads it.
 * Pid 0 asks for the module's target: it is looked up once in that
 * section, so the pid returned and the figures are of the same process
 * even if the target is switched meanwhile.
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

/*
 * The figures summed over a thread group: @utime and @stime as the tick
 * sampled them, @rtime the precise runtime; @user_ns and @system_ns the
 * runtime split between the two modes (cputime_split()).
 */
struct group_sums {
	u64 utime;
	u64 stime;
	u64 rtime;
	u64 user_ns;
	u64 system_ns;
	u64 min_flt;
	u64 maj_flt;
	u64 nvcsw;
	u64 nivcsw;
	u32 threads;
};

/*
 * Sum the figures of every thread of a process: the live threads' own,
 * plus what exited threads left in signal_struct, in a read section of
 * sig->stats_lock (read_thread_group()).  These are the totals that
 * thread_group_cputime() takes for /proc/PID/stat: an exiting thread
 * moves its ticks and its runtime to signal_struct in the write section
 * that unlinks it, so every total is monotonic across thread exits.
 */
static void sum_group(struct signal_struct *sig, void *arg)
{
	struct group_sums *sum = arg;
	struct task_struct *t;

	sum->utime = sig->utime;
	sum->stime = sig->stime;
	sum->rtime = sig->sum_sched_runtime;
	sum->min_flt = sig->min_flt;
	sum->maj_flt = sig->maj_flt;
	sum->nvcsw = sig->nvcsw;
	sum->nivcsw = sig->nivcsw;
	sum->threads = READ_ONCE(sig->nr_threads);
	__for_each_thread(sig, t) {
		sum->utime += READ_ONCE(t->utime);
		sum->stime += READ_ONCE(t->stime);
		sum->rtime += READ_ONCE(t->se.sum_exec_runtime);
		sum->min_flt += READ_ONCE(t->min_flt);
		sum->maj_flt += READ_ONCE(t->maj_flt);
		sum->nvcsw += READ_ONCE(t->nvcsw);
		sum->nivcsw += READ_ONCE(t->nivcsw);
	}
}

/*
 * Split the process's runtime @sum->rtime between user and system mode in
 * the ratio of its tick samples, as thread_group_cputime_adjusted() does
 * for /proc/PID/stat, getrusage() and wait4(): with cputime_adjust()'s
 * rule (kernel/sched/cputime.c), applied to the same state,
 * @sig->prev_cputime, under its lock.  Neither function is exported to
 * modules, so the rule is restated here:
 *
 *  - a runtime not above the last split's sum (a reader reordered by the
 *    lock) gives the last split again;
 *  - otherwise system gets the runtime times its share of the ticks (all
 *    of it if only system ticks were seen, none if no system tick), but
 *    never less than the last split's system time, and user the rest,
 *    but never less than the last split's user time (system then gets
 *    the rest).
 *
 * So user, system and their sum never decrease, whoever reads them: this
 * module, /proc or the process's parent.  Each caller's split is written
 * back, as the kernel's callers' are; the state stays what the kernel's
 * rule keeps it: a pair that only grows and adds up to a runtime seen.
 */
static void cputime_split(struct signal_struct *sig, struct group_sums *sum)
{
	struct prev_cputime *prev = &sig->prev_cputime;
	u64 rtime = sum->rtime, stime;
	unsigned long flags;

	raw_spin_lock_irqsave(&prev->lock, flags);
	if (prev->utime + prev->stime >= rtime)
		goto out;
	if (!sum->stime)
		stime = 0;
	else if (!sum->utime)
		stime = rtime;
	else
		stime = min(mul_u64_u64_div_u64(sum->stime, rtime,
						sum->stime + sum->utime), rtime);
	stime = max(stime, prev->stime);
	if (rtime - stime < prev->utime)
		stime = rtime - prev->utime;
	prev->stime = stime;
	prev->utime = rtime - stime;
out:
	sum->user_ns = prev->utime;
	sum->system_ns = prev->stime;
	raw_spin_unlock_irqrestore(&prev->lock, flags);
}

/*
 * The figures of the whole process @leader belongs to; its CPU time split
 * by cputime_split(), the one split every interface of the module gives
 * for a process (TM_STATS, TM_STATS_BATCH, the streams).
 */
static void group_sums(struct task_struct *leader, struct group_sums *sum)
{
	struct signal_struct *sig = leader->signal;

	read_thread_group(sig, sum_group, sum);
	cputime_split(sig, sum);
}

/*
 * The figures of thread @t alone; its CPU time is task_cputime_adjusted()'s,
 * the figure of /proc/PID/task/TID/stat, clamped by the kernel in the
 * thread's own prev_cputime.
 */
static void thread_sums(struct task_struct *t, struct group_sums *sum)
{
	task_cputime_adjusted(t, &sum->user_ns, &sum->system_ns);
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
 * @exited: set if it had exited (a zombie) before the times were read:
 *	they are then its final times
 *
 * Whether it exited is decided first, and the times are summed after: a
 * process seen exited has no thread left to add time, so the sum taken
 * after is final (a process that exits while being summed is not reported
 * exited, and the next call gives its final times).
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
		*exited = process_exited(leader);
		/*
		 * The last thread's exit is seen before the sums: pairs with
		 * the write section of sig->stats_lock that unlinked it.
		 */
		smp_rmb();
		group_sums(leader, &sum);
		*user_ns = sum.user_ns;
		*system_ns = sum.system_ns;
		err = 0;
	}
	rcu_read_unlock();
	return err;
}

/**
 * exit_figures() - the final figures of a process whose last thread exited
 * @t: that thread, referenced, switched away for the last time
 * @e: the record; its times, faults, context switches and peak resident
 *	memory are set here
 *
 * The CPU time is the split every interface of the module gives
 * (group_sums()), which is what the parent's wait4() reads: its rusage
 * adds the children's times, given apart.  Whether the parent has reaped
 * the process yet or not, the sums are the same: reaping moves the last
 * thread's figures to the signal struct, which @t's reference keeps.
 *
 * Context: rcu_read_lock() held; nothing sleeps.
 */
void exit_figures(struct task_struct *t, struct taskmon_exit *e)
{
	struct signal_struct *sig = t->signal;
	struct group_sums sum;

	group_sums(t, &sum);
	e->user_ns = sum.user_ns;
	e->system_ns = sum.system_ns;
	e->minor_faults = sum.min_flt;
	e->major_faults = sum.maj_flt;
	e->voluntary_ctxsw = sum.nvcsw;
	e->involuntary_ctxsw = sum.nivcsw;
	e->children_user_ns = READ_ONCE(sig->cutime);
	e->children_system_ns = READ_ONCE(sig->cstime);
	e->max_rss_bytes = (u64)READ_ONCE(sig->maxrss) << PAGE_SHIFT;
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

/* The groups read by one walk over a process's threads (group_sums()). */
#define TM_STATS_WALK	(TM_STATS_CPU | TM_STATS_FAULTS | TM_STATS_CTXSW)

/*
 * The name of @t, and the virtual and (if @want has TM_STATS_RSS, as it
 * sums per-CPU counters) resident memory of its address space, under one
 * task_lock(): the lock get_task_comm() takes, and the one under which
 * get_task_mm() reads @t->mm (exit_mm() clears @t->mm under it before
 * dropping the task's reference, so the mm is alive while it is held, and
 * no reference is taken).  Kernel threads (and exited processes) have no
 * memory: their memory bits stay clear.
 */
static void fill_locked(struct taskmon_stats *s, struct task_struct *t,
			u64 want)
{
	struct mm_struct *mm;

	task_lock(t);
	strscpy_pad(s->comm, t->comm, sizeof(s->comm));
	s->mask |= TM_STATS_COMM;
	mm = t->mm;
	if (mm && !(t->flags & PF_KTHREAD)) {
		s->vsize_bytes = (u64)READ_ONCE(mm->total_vm) << PAGE_SHIFT;
		s->mask |= TM_STATS_VSIZE;
		if (want & TM_STATS_RSS) {
			s->rss_anon_bytes = (u64)taskmon_mm_counter(mm, MM_ANONPAGES) << PAGE_SHIFT;
			s->rss_file_bytes = (u64)taskmon_mm_counter(mm, MM_FILEPAGES) << PAGE_SHIFT;
			s->rss_shmem_bytes =
				(u64)taskmon_mm_counter(mm, MM_SHMEMPAGES) << PAGE_SHIFT;
			s->mask |= TM_STATS_RSS;
		}
	}
	task_unlock(t);
}

/*
 * Fill @s with the statistics of @pid: of its thread if @thread, else of
 * its whole process; the groups of @want and those that cost nothing (ids,
 * state, credentials, name, threads, times, virtual size).  The walk over
 * the threads and the per-CPU sums are done only when @want asks for
 * them: a query for the name and ids does neither.  @s->pid is set to
 * @pid's number in the caller's pid namespace; every other output field
 * is expected zeroed.
 *
 * Called under rcu_read_lock(), which keeps the task_structs readable
 * (they are freed after a grace period): no reference is taken, so a
 * query costs no atomic operation on shared counters (docs/performance.md).
 * Nothing here sleeps.
 */
static int fill_stats(struct taskmon_stats *s, struct pid *pid, bool thread,
		      u64 want)
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
	s->threads = get_nr_threads(t);
	s->mask |= TM_STATS_THREADS;
	if (want & TM_STATS_WALK) {
		if (thread)
			thread_sums(t, &sum);
		else
			group_sums(t, &sum);
		s->user_ns = sum.user_ns;
		s->system_ns = sum.system_ns;
		s->minor_faults = sum.min_flt;
		s->major_faults = sum.maj_flt;
		s->voluntary_ctxsw = sum.nvcsw;
		s->involuntary_ctxsw = sum.nivcsw;
		s->mask |= TM_STATS_WALK;
	}

	fill_locked(s, t, want);
	s->start_time_ns = timens_add_boottime_ns(t->start_boottime);
	s->sample_time_ns = timens_add_boottime_ns(ktime_get_boottime_ns());
	s->mask |= TM_STATS_START_TIME | TM_STATS_SAMPLE_TIME;
	return 0;
}

/*
 * Answer the query in @s (its @flags already checked; @want the groups
 * its @mask asked for) for the opener of @file: look the pid up in the
 * caller's pid namespace, or take the module's target for pid 0, and fill
 * the rest of @s, all in one RCU read section.  Only when access=ptrace
 * asks for a check (access_pid()) is the section left for it, the pids
 * referenced meanwhile, and the figures read in a second one.
 */
static int query(const struct file *file, struct taskmon_stats *s, u64 want)
{
	bool thread = s->flags & TM_STATS_THREAD;
	struct pid *pid, *check;
	int err;

	if (s->pid < 0 || want & TM_STATS__RESERVED)
		return -EINVAL;
	/* As statx(): no group asked is every group; unknown ones are ignored. */
	want = want ? want & TM_STATS_ALL : TM_STATS_ALL;
	rcu_read_lock();
	pid = s->pid ? find_vpid(s->pid) : monitor_target_rcu();
	if (!pid) {
		rcu_read_unlock();
		return s->pid ? -ESRCH : -ENODATA;
	}
	check = access_pid(file, pid, thread);
	if (!check) {
		err = fill_stats(s, pid, thread, want);
		rcu_read_unlock();
		return err;
	}
	get_pid(pid);
	get_pid(check);
	rcu_read_unlock();
	err = access_check(file, check);
	if (!err) {
		rcu_read_lock();
		err = fill_stats(s, pid, thread, want);
		rcu_read_unlock();
	}
	put_pid(check);
	put_pid(pid);
	return err;
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
 * Store @s in the @s->size bytes of the caller's struct at @uarg, as
 * copy_struct_to_user() does: the bytes both structs have, then zeros in
 * the caller's bytes this module does not know (outputs of a newer
 * struct: docs/abi.md).  The common case, the same size, in one
 * user-access section: for a struct this small, copy_to_user()'s string
 * copy and its object-size checks cost more than word stores
 * (docs/performance.md).
 */
static int put_stats(struct taskmon_stats __user *uarg,
		     const struct taskmon_stats *s)
{
	size_t len = min_t(size_t, s->size, sizeof(*s));

	if (!user_write_access_begin(uarg, len))
		return -EFAULT;
	unsafe_copy_to_user((char __user *)uarg, (const char *)s, len, efault);
	user_write_access_end();
	if (s->size > len && clear_user((char __user *)uarg + len, s->size - len))
		return -EFAULT;
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

/**
 * tm_stats() - TM_STATS: fill the struct taskmon_stats at @uarg
 * @file: the caller's open /dev/taskmonitor
 * @uarg: the caller's struct, whose @size says how large it is
 *
 * Only the inputs (@size, @flags, @pid, @mask) are read: the rest of the
 * caller's struct is output, whatever its size (docs/abi.md).
 *
 * Return: 0; -EFAULT; -EINVAL for a size below TM_STATS_SIZE_VER0 or not
 * a multiple of 8, unknown flags, a negative pid or TM_STATS__RESERVED in
 * @mask; -E2BIG for a size above a page; -ENODATA for pid 0 without a
 * target; -ESRCH if there is no such process visible to the caller;
 * -EACCES if access=ptrace refuses it.
 */
long tm_stats(const struct file *file, struct taskmon_stats __user *uarg)
{
	struct taskmon_stats s;
	u32 usize, flags;
	u64 want;
	s32 pid;
	int err;

	if (get_user(usize, &uarg->size) || get_user(flags, &uarg->flags) ||
	    get_user(pid, &uarg->pid) || get_user(want, &uarg->mask))
		return -EFAULT;
	err = tm_check_size(usize, TM_STATS_SIZE_VER0);
	if (err)
		return err;
	if (flags & ~TM_STATS_FLAGS_ALL)
		return -EINVAL;
	init_query(&s, usize, flags, pid);
	err = query(file, &s, want);
	if (err)
		return err;
	return put_stats(uarg, &s);
}

/**
 * tm_stats_batch() - TM_STATS_BATCH: fill every record of a batch
 * @file: the caller's open /dev/taskmonitor
 * @uarg: the caller's struct taskmon_stats_batch
 *
 * Each record is asked by its own @pid and @mask, as TM_STATS asks, and
 * gets its own @error (0, -ESRCH, -ENODATA, -EINVAL for a negative pid or
 * TM_STATS__RESERVED in @mask, -EACCES if access=ptrace refuses it); a
 * record that is filled has the fields of TM_STATS.
 *
 * Return: 0 once every record is answered; -EFAULT; -EINVAL for a size
 * below TM_STATS_SIZE_VER0 or not a multiple of 8, unknown flags, a
 * non-zero @reserved or a count of 0; -E2BIG for a size above a page or
 * a count above TM_STATS_BATCH_MAX; -EINTR if a fatal signal came first.
 */
long tm_stats_batch(const struct file *file,
		    struct taskmon_stats_batch __user *uarg)
{
	struct taskmon_stats_batch batch;
	struct taskmon_stats s;
	char __user *rec;
	u32 i;
	int err;

	if (copy_from_user(&batch, uarg, sizeof(batch)))
		return -EFAULT;
	err = tm_check_size(batch.size, TM_STATS_SIZE_VER0);
	if (err)
		return err;
	if (batch.flags & ~TM_STATS_FLAGS_ALL || batch.reserved || !batch.count)
		return -EINVAL;
	if (batch.count > TM_STATS_BATCH_MAX)
		return -E2BIG;

	rec = u64_to_user_ptr(batch.records);
	for (i = 0; i < batch.count; i++, rec += batch.size) {
		struct taskmon_stats __user *urec = (void __user *)rec;
		u64 want;
		s32 nr;

		if (get_user(nr, &urec->pid) || get_user(want, &urec->mask))
			return -EFAULT;
		init_query(&s, batch.size, batch.flags, nr);
		err = query(file, &s, want);
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
