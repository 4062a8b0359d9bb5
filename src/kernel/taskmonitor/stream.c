// SPDX-License-Identifier: GPL-2.0
/*
 * Streams of samples: TM_SUBSCRIBE on /dev/taskmonitor
 * (include/uapi/linux/taskmon.h).
 *
 * Each subscribed file owns a struct tm_stream: its processes, a delayed
 * work that samples them every period, and a ring of records (ring.c)
 * that read() drains.  Nothing is shared between files and nothing takes the module's
 * global lock, so the work per period is one read per subscribed process.
 *
 * Life cycle: TM_SUBSCRIBE builds the stream completely, publishes it in
 * file->private_data (once: a second subscription is EBUSY) and starts
 * the work.  ->release() runs when no read() or poll() of the file can run
 * any more; it stops the work, waiting for a running tick, and frees
 * everything, references to the processes included.  An open file holds a
 * reference to the module (the fops' owner), so the module cannot be
 * removed while a stream exists, and its exit waits for nobody.
 *
 * Bounds: every allocation a subscription causes is charged to the
 * subscriber's memory cgroup (GFP_KERNEL_ACCOUNT), and each real uid holds
 * at most max_user_subscriptions streams at a time, machine-wide (EDQUOT
 * beyond).  The sampling runs in an unbound kworker, which yields between
 * processes; a tick that runs a period or more late skips the periods it
 * missed and flags the next records TM_RECORD_GAP.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/time_namespace.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include "taskmonitor.h"

/*
 * The most streams one real uid may hold at a time, machine-wide, as
 * inotify's max_user_instances; TM_SUBSCRIBE beyond it is EDQUOT.  Read
 * once per TM_SUBSCRIBE: lowering it ends no stream, it only refuses new
 * ones until the count is below it.  Root is counted too.
 */
static unsigned int max_user_subscriptions = 128;
module_param(max_user_subscriptions, uint, 0644);
MODULE_PARM_DESC(max_user_subscriptions,
		 "most streams (TM_SUBSCRIBE) one real uid may hold at a time, machine-wide; beyond it EDQUOT (default: 128)");

/*
 * The number of streams each real uid holds: index the uid's value in the
 * initial user namespace, entry xa_mk_value(count), no entry for none.
 * user_subs_lock makes each read-modify-write of a count atomic (the
 * xarray's own lock is dropped while it allocates).
 */
static DEFINE_MUTEX(user_subs_lock);	/* protects the counts of user_subs */
static DEFINE_XARRAY(user_subs);

/**
 * user_subs_get() - count one more subscription (a stream or exit records)
 * @uid: the subscriber's real uid
 *
 * Return: 0, or -EDQUOT at max_user_subscriptions.
 */
int user_subs_get(kuid_t uid)
{
	unsigned int max = READ_ONCE(max_user_subscriptions);
	unsigned long n;
	void *entry;
	int err = 0;

	mutex_lock(&user_subs_lock);
	entry = xa_load(&user_subs, __kuid_val(uid));
	n = entry ? xa_to_value(entry) : 0;
	if (n >= max)
		err = -EDQUOT;
	else
		err = xa_err(xa_store(&user_subs, __kuid_val(uid),
				      xa_mk_value(n + 1), GFP_KERNEL));
	mutex_unlock(&user_subs_lock);
	return err;
}

/**
 * user_subs_put() - count one subscription less
 * @uid: the real uid user_subs_get() counted it for
 */
void user_subs_put(kuid_t uid)
{
	unsigned long n;

	mutex_lock(&user_subs_lock);
	n = xa_to_value(xa_load(&user_subs, __kuid_val(uid)));
	if (WARN_ON_ONCE(!n) || n == 1)
		xa_erase(&user_subs, __kuid_val(uid));
	else	/* replaces an entry: allocates nothing, cannot fail */
		xa_store(&user_subs, __kuid_val(uid), xa_mk_value(n - 1),
			 GFP_KERNEL);
	mutex_unlock(&user_subs_lock);
}

/**
 * struct tm_stream_proc - one subscribed process
 * @pid: the process, referenced until its exit record is queued; then NULL
 * @nr: its pid as the subscriber named it, in the subscriber's namespace
 * @user_ns: user time of the last sample, for an exit seen too late
 * @system_ns: system time of the last sample
 *
 * Only the work reads or writes these, one tick at a time, and
 * ->release() after the work has stopped.
 */
struct tm_stream_proc {
	struct pid *pid;
	pid_t nr;
	u64 user_ns;
	u64 system_ns;
};

/**
 * struct tm_stream - the subscription of one open file
 * @sub: its ring of records, which read() and poll() drain, and how the
 *	file releases it (first member: what file->private_data points to)
 * @period_ns: the sampling period; set at subscription, then read-only
 * @time_offset_ns: the subscriber's CLOCK_BOOTTIME offset (time namespace);
 *	read-only after subscription
 * @uid: the subscriber's real uid, whose count of streams this one is in;
 *	read-only after subscription
 * @work: samples every process once per period and re-arms itself
 * @next_due_ns: when the next tick is due (CLOCK_BOOTTIME); the work's own
 * @gap: periods were skipped since the last tick's records, whose next
 *	records say so (TM_RECORD_GAP); the work's own
 * @live: processes whose exit record is not queued yet; the work's own
 * @nr_procs: number of entries in @procs; read-only after subscription
 * @procs: the subscribed processes
 */
struct tm_stream {
	struct tm_sub sub;
	u64 period_ns;
	s64 time_offset_ns;
	kuid_t uid;

	struct delayed_work work;
	u64 next_due_ns;
	bool gap;
	unsigned int live;

	unsigned int nr_procs;
	struct tm_stream_proc procs[];
};

/* Sample @p into @rec; on its exit, drop the reference and say so. */
static void sample_proc(struct tm_stream *s, struct tm_stream_proc *p,
			struct taskmon_record *rec)
{
	bool exited;

	memset(rec, 0, sizeof(*rec));
	rec->pid = p->nr;
	if (process_cpu(p->pid, &p->user_ns, &p->system_ns, &exited)) {
		/* Reaped between two ticks: the last sample is all there is. */
		rec->flags = TM_RECORD_EXIT | TM_RECORD_REAPED;
	} else if (exited) {
		rec->flags = TM_RECORD_EXIT;
	}
	rec->user_ns = p->user_ns;
	rec->system_ns = p->system_ns;
	rec->timestamp_ns = ktime_get_boottime_ns() + s->time_offset_ns;

	if (rec->flags & TM_RECORD_EXIT) {
		put_pid(p->pid);
		p->pid = NULL;
		s->live--;
	}
}

/*
 * The delay of a timer that fires @ns from now, never before: a timer
 * fires at a jiffy's start, so a part of the current jiffy is gone
 * already, hence the jiffy more than @ns rounded up.
 */
static unsigned long jiffies_until(u64 ns)
{
	return nsecs_to_jiffies(ns + TICK_NSEC - 1) + 1;
}

/*
 * Skip the due times of @s up to @now: move @next_due_ns to the first one
 * after @now (@after) or to the last one not after it (!@after), and flag
 * the next records if that skipped any.
 */
static void skip_missed(struct tm_stream *s, u64 now, bool after)
{
	u64 missed;

	if (now < s->next_due_ns)
		return;
	missed = div64_u64(now - s->next_due_ns, s->period_ns) + after;
	if (!missed)
		return;
	s->next_due_ns += missed * s->period_ns;
	s->gap = true;
}

/*
 * One tick, in an unbound kworker (process context: it may sleep, and
 * yields between processes).
 */
static void stream_tick(struct work_struct *work)
{
	struct tm_stream *s = container_of(to_delayed_work(work),
					   struct tm_stream, work);
	struct taskmon_record rec;
	unsigned int i;
	u32 gap;
	u64 now;

	/*
	 * A tick that starts a period or more after it was due (a stopped
	 * VM, a starved CPU) samples for the last due time that passed: the
	 * ones before it are skipped, not caught up.
	 */
	skip_missed(s, ktime_get_boottime_ns(), false);
	gap = s->gap ? TM_RECORD_GAP : 0;
	s->gap = false;

	for (i = 0; i < s->nr_procs; i++) {
		if (!s->procs[i].pid)
			continue;
		sample_proc(s, &s->procs[i], &rec);
		rec.flags |= gap;
		tm_ring_push(&s->sub.ring, &rec);
		cond_resched();
	}

	if (!s->live) {
		tm_ring_end(&s->sub.ring);
		return;	/* not re-armed: the stream is complete */
	}
	tm_ring_wake(&s->sub.ring);

	/*
	 * Due times are multiples of the period from the first tick, so
	 * delays do not add up.  If the next one passed while this tick
	 * sampled, it is skipped too: the work is never re-armed at once.
	 */
	s->next_due_ns += s->period_ns;
	now = ktime_get_boottime_ns();
	skip_missed(s, now, true);
	queue_delayed_work(system_unbound_wq, &s->work,
			   jiffies_until(s->next_due_ns - now));
}

static void stream_free(struct tm_stream *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_procs; i++)
		put_pid(s->procs[i].pid);
	tm_ring_destroy(&s->sub.ring);
	kvfree(s);
}

/* ->release of a stream: ends the subscription when its file is released. */
static void stream_release(struct tm_sub *sub)
{
	struct tm_stream *s = container_of(sub, struct tm_stream, sub);

	/* Waits for a running tick and keeps it from re-arming. */
	cancel_delayed_work_sync(&s->work);
	user_subs_put(s->uid);
	stream_free(s);
}

/* The same process twice in @procs[0..@n]: the last one again? */
static bool duplicate_pid(const struct tm_stream_proc *procs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (procs[i].pid == procs[n].pid)
			return true;
	return false;
}

/*
 * The struct pid of the process @nr names as its pid or the TID of one of
 * its threads (the uapi's one rule for thread ids), referenced; NULL if
 * @nr names no task in the caller's pid namespace.
 */
static struct pid *find_get_process(pid_t nr)
{
	struct task_struct *task;
	struct pid *pid = NULL;

	rcu_read_lock();
	task = pid_task(find_vpid(nr), PIDTYPE_PID);
	if (task)
		pid = get_pid(task_tgid(task));
	rcu_read_unlock();
	return pid;
}

/*
 * The struct pid of the live process @nr names in the caller's pid
 * namespace (0: the module's target), referenced.  *@vnr is its process
 * id there.
 */
static int subscribe_pid(pid_t nr, struct pid **pidp, pid_t *vnr)
{
	u64 user_ns, system_ns;
	struct pid *pid;
	bool exited;

	if (nr < 0)
		return -EINVAL;
	pid = nr ? find_get_process(nr) : monitor_get_target();
	if (!pid)
		return nr ? -ESRCH : -ENODATA;
	*vnr = pid_vnr(pid);
	if (!*vnr || process_cpu(pid, &user_ns, &system_ns, &exited) ||
	    exited) {
		put_pid(pid);
		return -ESRCH;
	}
	*pidp = pid;
	return 0;
}

static int check_request(const struct taskmon_subscribe *req)
{
	int err;

	if (req->flags || !req->count)
		return -EINVAL;
	if (req->record_size) {
		err = tm_check_size(req->record_size, TM_RECORD_SIZE_VER0);
		if (err)
			return err;
	}
	if (req->count > TM_STREAM_PIDS_MAX)
		return -E2BIG;
	if (req->period_ns && (req->period_ns < TM_STREAM_PERIOD_MIN_NS ||
			       req->period_ns > TM_STREAM_PERIOD_MAX_NS))
		return -EINVAL;
	if (req->ring > TM_STREAM_RING_MAX)
		return -EINVAL;
	return 0;
}

/* A stream for @req, its processes looked up; not started. */
static struct tm_stream *stream_create(const struct taskmon_subscribe *req)
{
	const s32 __user *upids = u64_to_user_ptr(req->pids);
	struct tm_stream *s;
	unsigned int i;
	s32 nr;
	int err;

	s = tm_sub_zalloc(struct_size(s, procs, req->count));
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->nr_procs = req->count;
	err = tm_ring_init(&s->sub.ring,
			   req->ring ? req->ring : TM_STREAM_RING_DEFAULT,
			   sizeof(struct taskmon_record),
			   offsetof(struct taskmon_record, lost),
			   req->record_size ? req->record_size :
			   TM_RECORD_SIZE_VER0);
	if (err)
		goto err_free;
	for (i = 0; i < s->nr_procs; i++) {
		if (get_user(nr, upids + i)) {
			err = -EFAULT;
			goto err_free;
		}
		err = subscribe_pid(nr, &s->procs[i].pid, &s->procs[i].nr);
		if (err)
			goto err_free;
		/* Also a pid and 0 naming the target: one process, twice. */
		if (duplicate_pid(s->procs, i)) {
			err = -EINVAL;
			goto err_free;
		}
	}
	s->live = s->nr_procs;
	s->period_ns = req->period_ns ? req->period_ns :
		       TM_STREAM_PERIOD_DEFAULT_NS;
	/* The subscriber's offset; the work runs in no time namespace. */
	s->time_offset_ns = timens_add_boottime_ns(0);
	s->sub.release = stream_release;
	INIT_DELAYED_WORK(&s->work, stream_tick);
	return s;

err_free:
	stream_free(s);
	return ERR_PTR(err);
}

/* Whether @file's opener may read every process of @s (access.c). */
static int stream_may_read(const struct file *file, struct tm_stream *s)
{
	unsigned int i;
	int err;

	for (i = 0; i < s->nr_procs; i++) {
		err = access_may_read(file, s->procs[i].pid);
		if (err)
			return err;
	}
	return 0;
}

/**
 * tm_subscribe() - TM_SUBSCRIBE: subscribe @file to samples of processes
 * @file: the open file, which then owns the stream
 * @uarg: the struct taskmon_subscribe
 *
 * Reads the request and writes back its @record_size: the bytes of each
 * record this module fills.
 *
 * Return: 0; -EFAULT, -EINVAL, -E2BIG for a bad request (-EINVAL also
 * for a process named twice); -ESRCH or -ENODATA for a pid; -EACCES for a
 * pid access=ptrace refuses; -EBUSY if @file subscribed already; -EDQUOT
 * if the caller's real uid holds max_user_subscriptions streams; -ENOMEM,
 * in the caller's memory cgroup.
 */
long tm_subscribe(struct file *file, struct taskmon_subscribe __user *uarg)
{
	struct taskmon_subscribe req;
	struct tm_stream *s;
	kuid_t uid;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	err = check_request(&req);
	if (err)
		return err;
	if (READ_ONCE(file->private_data))
		return -EBUSY;

	uid = current_uid();
	err = user_subs_get(uid);
	if (err)
		return err;
	s = stream_create(&req);
	if (IS_ERR(s)) {
		user_subs_put(uid);
		return PTR_ERR(s);
	}
	s->uid = uid;
	err = stream_may_read(file, s);
	/* Before publishing: a bad buffer subscribes nothing. */
	if (!err && put_user(min_t(u32, s->sub.ring.record_size,
				   sizeof(struct taskmon_record)),
			     &uarg->record_size))
		err = -EFAULT;
	if (err) {
		stream_free(s);
		user_subs_put(uid);
		return err;
	}

	err = tm_sub_publish(file, &s->sub);
	if (err) {
		stream_free(s);
		user_subs_put(uid);
		return err;
	}
	/* The first sample now, so that a watcher has one at once. */
	s->next_due_ns = ktime_get_boottime_ns();
	queue_delayed_work(system_unbound_wq, &s->work, 0);
	return 0;
}
