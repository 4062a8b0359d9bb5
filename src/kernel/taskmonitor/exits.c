// SPDX-License-Identifier: GPL-2.0
/*
 * Exit records of every process: TM_SUBSCRIBE_EXITS on /dev/taskmonitor
 * (include/uapi/linux/taskmon.h, docs/exits.md).
 *
 * The hook is the sched_process_exit tracepoint, which do_exit() fires in
 * every exiting thread, in that thread's own context, after it has left
 * its thread group's count of live threads and set its exit code.  The
 * probe takes what is known then (ids, name, status, times of start and
 * exit) and a reference to the thread; the figures that the rest of the
 * exit path still adds to (CPU time, faults, context switches: the
 * scheduler charges a running task's time only when it next switches or
 * ticks) are read by a work item once that thread has switched away for
 * the last time, so that they are the final ones, what the parent's
 * wait4() reads.  The tracepoint is not exported to modules, so it is found by
 * name among the kernel's own (for_each_kernel_tracepoint(), exported, as
 * tracepoint_probe_register() is), and the probe is registered when the
 * first subscription is made and unregistered when the last one's file is
 * released: with no subscriber the tracepoint is a static branch not
 * taken, and this module costs an exiting process nothing.
 *
 * Why the hook is safe on 6.1, 6.12 and 7.x:
 *  - the probe never sleeps: it runs with preemption disabled (6.1, 6.12)
 *    or in an SRCU read section (7.x), and takes only spinlocks: the
 *    group's stats_lock and prev_cputime lock (group_sums()), the group
 *    leader's task_lock, each subscriber's ring lock and wait queue;
 *    do_exit() holds none of them there, nor any other lock;
 *  - what it reads is alive: the exiting task is current, its signal
 *    struct and group leader outlive it, its parent and credentials are
 *    read under rcu_read_lock();
 *  - its prototype is the tracepoint's (kCFI): 7.x passes group_dead,
 *    which taskmon_compat.h adapts;
 *  - nothing of the module runs after its last file is released: the
 *    release unregisters the probe and waits for probes in flight
 *    (tracepoint_synchronize_unregister()), stops the work and drops the
 *    exits not yet completed, and waits for the RCU readers of the
 *    subscription list (synchronize_rcu()) before freeing; an open file
 *    holds a reference to the module.
 *
 * Bounds: at most EXITS_PENDING_MAX exits wait for their thread to switch
 * away; beyond that (or if the probe cannot allocate, GFP_NOWAIT) an exit
 * is dropped and counted as lost in every subscriber's stream.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/time_namespace.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "taskmonitor.h"

/**
 * struct tm_exits - the exit subscription of one open file
 * @sub: its ring of records and how the file releases it (first member:
 *	what file->private_data points to)
 * @node: in exits_subs
 * @pid_ns: the subscriber's pid namespace, referenced: only processes it
 *	sees are reported, by their numbers there
 * @cred: the opener's credentials, referenced: the user namespace the ids
 *	are given in, and the ids access=ptrace compares
 * @time_offset_ns: the subscriber's CLOCK_BOOTTIME offset (time namespace)
 * @exempt: the opener was exempt from access=ptrace when it subscribed
 * @uid: the subscriber's real uid, whose count of subscriptions this is in
 *
 * All fields but @sub.ring and @node are set before the subscription is
 * published and read-only after.
 */
struct tm_exits {
	struct tm_sub sub;
	struct list_head node;
	struct pid_namespace *pid_ns;
	const struct cred *cred;
	s64 time_offset_ns;
	bool exempt;
	kuid_t uid;
};

/*
 * The subscriptions: added and removed under exits_lock, walked by the
 * probe under rcu_read_lock().  exits_lock also serialises registering
 * and unregistering the probe, which is registered exactly while the list
 * is not empty, and finding the tracepoint, which is then kept (it is the
 * kernel's, and lives as long as the kernel).
 */
static DEFINE_MUTEX(exits_lock);	/* protects exits_subs, exits_tp */
static LIST_HEAD(exits_subs);
static struct tracepoint *exits_tp;

/**
 * struct exit_pending - an exit whose figures are not final yet
 * @node: in exits_pending
 * @task: the thread that ended its group, referenced (its signal struct,
 *	credentials and figures stay readable)
 * @tgid: the process's struct pid, referenced (its numbers in every
 *	namespace, even once it is reaped)
 * @ptgid: its parent's, referenced
 * @rec: what the probe knew: status, start and exit time, name
 */
struct exit_pending {
	struct list_head node;
	struct task_struct *task;
	struct pid *tgid;
	struct pid *ptgid;
	struct taskmon_exit rec;
};

/* The most exits waiting for their thread to switch away for good. */
#define EXITS_PENDING_MAX	65536

/*
 * Exits queued by the probe for exits_work, in the order of the exits;
 * exits_nr_pending counts them.
 */
static DEFINE_SPINLOCK(exits_pending_lock);	/* protects exits_pending, exits_nr_pending */
static LIST_HEAD(exits_pending);
static unsigned int exits_nr_pending;

static void exits_complete(struct work_struct *work);
static DECLARE_DELAYED_WORK(exits_work, exits_complete);

/*
 * Thread groups reported lately, for kernels whose tracepoint does not
 * say which thread ends a group (taskmon_compat.h): several threads of a
 * group that exit together may each see its live count at zero.  A group
 * is keyed by its signal_struct and its leader's start time, so that a
 * signal_struct reused by a later process is not mistaken for it; a
 * group's threads reach the tracepoint within moments of each other, and
 * the table only needs to remember a group until then.
 */
#define EXITS_SEEN_BITS	6

struct exit_seen {
	const struct signal_struct *sig;
	u64 start;
};

static DEFINE_SPINLOCK(exits_seen_lock);	/* protects exits_seen */
static struct exit_seen exits_seen[1 << EXITS_SEEN_BITS];

/* Whether the group @t ends has not been reported yet; it is now. */
static bool exit_first_report(struct task_struct *t)
{
	const struct signal_struct *sig = t->signal;
	u64 start = READ_ONCE(t->group_leader)->start_boottime;
	struct exit_seen *seen = &exits_seen[hash_ptr(sig, EXITS_SEEN_BITS)];
	bool first;

	spin_lock(&exits_seen_lock);
	first = seen->sig != sig || seen->start != start;
	seen->sig = sig;
	seen->start = start;
	spin_unlock(&exits_seen_lock);
	return first;
}

/* Queue @p's record, as @x's subscriber sees the process, if it may see it. */
static void exits_deliver(struct tm_exits *x, const struct exit_pending *p,
			  const struct cred *cred)
{
	struct taskmon_exit e;
	pid_t nr;

	nr = pid_nr_ns(p->tgid, x->pid_ns);
	if (!nr || !access_exit_visible(x->exempt, x->cred, cred))
		return;
	e = p->rec;
	e.pid = nr;
	e.ppid = pid_nr_ns(p->ptgid, x->pid_ns);
	e.uid = from_kuid_munged(x->cred->user_ns, cred->uid);
	e.start_time_ns += x->time_offset_ns;
	e.exit_time_ns += x->time_offset_ns;
	tm_ring_push(&x->sub.ring, &e);
}

/*
 * An exit is lost before any ring had it (too many pending, no memory):
 * every subscriber's stream skips a number, which its reader counts.
 */
static void exits_drop(void)
{
	struct tm_exits *x;

	list_for_each_entry_rcu(x, &exits_subs, node)
		tm_ring_skip(&x->sub.ring);
}

static void exit_pending_free(struct exit_pending *p)
{
	put_pid(p->ptgid);
	put_pid(p->tgid);
	put_task_struct(p->task);
	kfree(p);
}

/*
 * Whether @t has switched away for the last time: dead, and off its CPU
 * (the switch charged it its last runtime first).
 */
static bool exit_switched_away(struct task_struct *t)
{
	if (READ_ONCE(t->__state) != TASK_DEAD)
		return false;
	/* Pairs with finish_task_switch()'s release: its figures are seen. */
	return !smp_load_acquire(&t->on_cpu);
}

/*
 * The work: complete the exits whose thread switched away for good, and
 * hand each to every subscriber; look again a jiffy later while others
 * wait.  Runs in an unbound kworker; yields between exits.
 */
static void exits_complete(struct work_struct *work)
{
	struct exit_pending *p, *next;
	struct tm_exits *x;
	LIST_HEAD(done);
	bool more, completed;

	spin_lock(&exits_pending_lock);
	list_for_each_entry_safe(p, next, &exits_pending, node) {
		if (exit_switched_away(p->task)) {
			list_move_tail(&p->node, &done);
			exits_nr_pending--;
		}
	}
	more = exits_nr_pending;
	spin_unlock(&exits_pending_lock);
	completed = !list_empty(&done);

	list_for_each_entry_safe(p, next, &done, node) {
		rcu_read_lock();
		exit_figures(p->task, &p->rec);
		list_for_each_entry_rcu(x, &exits_subs, node)
			exits_deliver(x, p, __task_cred(p->task));
		rcu_read_unlock();
		exit_pending_free(p);
		cond_resched();
	}
	/* Readers are woken once for all the records of this round. */
	if (completed) {
		rcu_read_lock();
		list_for_each_entry_rcu(x, &exits_subs, node)
			tm_ring_wake(&x->sub.ring);
		rcu_read_unlock();
	}
	if (more)
		queue_delayed_work(system_unbound_wq, &exits_work, 1);
}

/*
 * The probe: in the thread that ends its thread group, what is known now,
 * queued for exits_complete().  Nothing here sleeps.
 */
static void exits_probe(void *data, TASKMON_EXIT_PROBE_PARAMS)
{
	struct signal_struct *sig = task->signal;
	struct task_struct *leader;
	struct exit_pending *p;
	bool queued = false;

	if (!TASKMON_EXIT_GROUP_DEAD(task))
		return;
	rcu_read_lock();
	if (!TASKMON_EXIT_GROUP_DEAD_EXACT && !exit_first_report(task))
		goto out_unlock;
	p = kzalloc(sizeof(*p), GFP_NOWAIT | __GFP_NOWARN);
	if (!p)
		goto out;
	p->rec.exit_time_ns = ktime_get_boottime_ns();
	p->rec.status = (READ_ONCE(sig->flags) & SIGNAL_GROUP_EXIT) ?
			READ_ONCE(sig->group_exit_code) :
			READ_ONCE(task->exit_code);
	leader = READ_ONCE(task->group_leader);
	p->rec.start_time_ns = leader->start_boottime;
	task_lock(leader);
	strscpy_pad(p->rec.comm, leader->comm, sizeof(p->rec.comm));
	task_unlock(leader);
	p->task = get_task_struct(task);
	p->tgid = get_pid(task_tgid(task));
	p->ptgid = get_pid(task_tgid(rcu_dereference(task->real_parent)));

	spin_lock(&exits_pending_lock);
	if (exits_nr_pending < EXITS_PENDING_MAX) {
		list_add_tail(&p->node, &exits_pending);
		exits_nr_pending++;
		queued = true;
	}
	spin_unlock(&exits_pending_lock);
	if (queued) {
		/* Its thread is about to switch away: look a jiffy later. */
		queue_delayed_work(system_unbound_wq, &exits_work, 1);
		goto out_unlock;
	}
	exit_pending_free(p);
out:
	exits_drop();
out_unlock:
	rcu_read_unlock();
}

/* Free every exit still pending (no probe and no work run any more). */
static void exits_drop_pending(void)
{
	struct exit_pending *p, *next;
	LIST_HEAD(drop);

	spin_lock(&exits_pending_lock);
	list_splice_init(&exits_pending, &drop);
	exits_nr_pending = 0;
	spin_unlock(&exits_pending_lock);
	list_for_each_entry_safe(p, next, &drop, node)
		exit_pending_free(p);
}

static void find_exit_tracepoint(struct tracepoint *tp, void *priv)
{
	struct tracepoint **found = priv;

	if (!strcmp(tp->name, "sched_process_exit"))
		*found = tp;
}

/* Add @x to the subscriptions; the first one registers the probe. */
static int exits_add(struct tm_exits *x)
{
	int err = 0;

	mutex_lock(&exits_lock);
	if (list_empty(&exits_subs)) {
		if (!exits_tp)
			for_each_kernel_tracepoint(find_exit_tracepoint,
						   &exits_tp);
		if (!exits_tp) {
			pr_warn_once("no sched_process_exit tracepoint in this kernel: no exit records\n");
			err = -EOPNOTSUPP;
			goto out;
		}
		err = tracepoint_probe_register(exits_tp, exits_probe, NULL);
		if (err)
			goto out;
	}
	list_add_tail_rcu(&x->node, &exits_subs);
out:
	mutex_unlock(&exits_lock);
	return err;
}

/*
 * Remove @x from the subscriptions; the last one unregisters the probe.
 * Returns once no probe can be using @x.
 */
static void exits_remove(struct tm_exits *x)
{
	mutex_lock(&exits_lock);
	list_del_rcu(&x->node);
	if (list_empty(&exits_subs)) {
		WARN_ON_ONCE(tracepoint_probe_unregister(exits_tp, exits_probe,
							 NULL));
		/* No probe of this module runs after this. */
		tracepoint_synchronize_unregister();
		/* Nor the work, and what it had to complete goes to nobody. */
		cancel_delayed_work_sync(&exits_work);
		exits_drop_pending();
	}
	mutex_unlock(&exits_lock);
	/* The probe walks the list under rcu_read_lock(). */
	synchronize_rcu();
}

static void exits_free(struct tm_exits *x)
{
	tm_ring_destroy(&x->sub.ring);
	put_pid_ns(x->pid_ns);
	put_cred(x->cred);
	kvfree(x);
}

/* ->release of an exit subscription, when its file is released. */
static void exits_release(struct tm_sub *sub)
{
	struct tm_exits *x = container_of(sub, struct tm_exits, sub);

	exits_remove(x);
	user_subs_put(x->uid);
	exits_free(x);
}

static int check_exits_request(const struct taskmon_exits_subscribe *req)
{
	if (req->flags || req->reserved || req->ring > TM_EXITS_RING_MAX)
		return -EINVAL;
	return req->record_size ?
	       tm_check_size(req->record_size, TM_EXIT_SIZE_VER0) : 0;
}

/* An exit subscription for @req and @file's opener; not yet added. */
static struct tm_exits *exits_create(const struct taskmon_exits_subscribe *req,
				     const struct file *file)
{
	struct tm_exits *x;
	int err;

	x = tm_sub_zalloc(sizeof(*x));
	if (!x)
		return ERR_PTR(-ENOMEM);
	err = tm_ring_init(&x->sub.ring,
			   req->ring ? req->ring : TM_EXITS_RING_DEFAULT,
			   sizeof(struct taskmon_exit),
			   offsetof(struct taskmon_exit, lost),
			   req->record_size ? req->record_size :
			   TM_EXIT_SIZE_VER0);
	if (err) {
		kvfree(x);
		return ERR_PTR(err);
	}
	x->sub.release = exits_release;
	x->pid_ns = get_pid_ns(task_active_pid_ns(current));
	x->cred = get_cred(file->f_cred);
	/* The subscriber's offset; the probe runs in the exiting task. */
	x->time_offset_ns = timens_add_boottime_ns(0);
	x->exempt = access_exempt(file);
	x->uid = current_uid();
	return x;
}

/**
 * tm_subscribe_exits() - TM_SUBSCRIBE_EXITS: subscribe @file to every exit
 * @file: the open file, which then owns the subscription
 * @uarg: the struct taskmon_exits_subscribe
 *
 * Reads the request and writes back its @record_size: the bytes of each
 * record this module fills.
 *
 * Return: 0; -EFAULT, -EINVAL, -E2BIG for a bad request; -EBUSY if @file
 * subscribed already; -EDQUOT if the caller's real uid holds
 * max_user_subscriptions subscriptions; -ENOMEM, in the caller's memory
 * cgroup; -EOPNOTSUPP on a kernel without the exit tracepoint.
 */
long tm_subscribe_exits(struct file *file,
			struct taskmon_exits_subscribe __user *uarg)
{
	struct taskmon_exits_subscribe req;
	struct tm_exits *x;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	err = check_exits_request(&req);
	if (err)
		return err;
	if (READ_ONCE(file->private_data))
		return -EBUSY;

	err = user_subs_get(current_uid());
	if (err)
		return err;
	x = exits_create(&req, file);
	if (IS_ERR(x)) {
		user_subs_put(current_uid());
		return PTR_ERR(x);
	}
	/* Before anything is visible: a bad buffer subscribes nothing. */
	if (put_user(min_t(u32, x->sub.ring.record_size,
			   sizeof(struct taskmon_exit)),
		     &uarg->record_size)) {
		err = -EFAULT;
		goto err_free;
	}
	err = exits_add(x);
	if (err)
		goto err_free;
	err = tm_sub_publish(file, &x->sub);
	if (err) {
		exits_remove(x);
		goto err_free;
	}
	return 0;

err_free:
	user_subs_put(x->uid);
	exits_free(x);
	return err;
}
