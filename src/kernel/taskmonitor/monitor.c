// SPDX-License-Identifier: GPL-2.0
/*
 * The monitored process, and the one way a sample is read from it.
 *
 * The target is held as a struct pid, not a pid number: the reference
 * keeps the struct alive, and it can never come to name another process
 * once the target exits and its number is reused.
 *
 * Reading the target is the hot path (TM_GET, sysfs, the kthread): it
 * takes no lock and no reference.  Readers find the target under RCU;
 * a writer publishes a new one and frees the old one after a grace
 * period, so a reader that still sees the old one can finish with it.
 * The task is found under RCU too (task_structs are freed after a grace
 * period), never referenced.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include "taskmonitor.h"

/**
 * struct monitor_target - one published target
 * @pid: the process, with a reference held until @rcu runs
 * @rcu: puts @pid and frees this once no reader can see it any more
 */
struct monitor_target {
	struct pid *pid;
	struct rcu_head rcu;
};

/**
 * struct task_monitor - the process being monitored
 * @lock: serialises the writers of @target
 * @target: the target, or NULL while there is none; read under RCU,
 *	written under @lock
 */
struct task_monitor {
	struct mutex lock;	/* serialises writers of target */
	struct monitor_target __rcu *target;
};

/* The one target of the module; monitor.lock serialises its writers. */
static struct task_monitor monitor = {
	.lock = __MUTEX_INITIALIZER(monitor.lock),
};

static void monitor_target_free(struct rcu_head *head)
{
	struct monitor_target *t = container_of(head, struct monitor_target, rcu);

	put_pid(t->pid);
	kfree(t);
}

/* Publish @new (may be NULL); the old target goes after a grace period. */
static void monitor_publish(struct monitor_target *new)
{
	struct monitor_target *old;

	mutex_lock(&monitor.lock);
	old = rcu_replace_pointer(monitor.target, new,
				  lockdep_is_held(&monitor.lock));
	mutex_unlock(&monitor.lock);
	if (old)
		call_rcu(&old->rcu, monitor_target_free);
}

/**
 * process_exited() - whether a process has exited
 * @leader: its thread-group leader
 *
 * The process is gone once its leader is a zombie with no thread left:
 * its task_struct may outlive it until reaped, but its times are final
 * and no longer those of a live process.
 *
 * Return: true if it has exited.
 */
bool process_exited(struct task_struct *leader)
{
	return leader->exit_state && thread_group_empty(leader);
}

/**
 * read_thread_group() - read figures of a whole thread group, consistently
 * @sig: the group's signal_struct
 * @read: reads them: sums what the exited threads left in @sig and every
 *	live thread's own (called once, or twice)
 * @arg: passed to @read
 *
 * An exiting thread adds its figures to signal_struct and leaves the
 * thread list in one write section of sig->stats_lock, so the sum is
 * taken in a read section of it.  The first pass is lockless; if a writer
 * got in, the second and last one holds the lock, which excludes writers
 * (what read_seqbegin_or_lock_irqsave() does for thread_group_cputime()),
 * so a process that creates and exits threads without pause cannot keep
 * a reader looping.  The two passes are written out: sparse cannot follow
 * the lock through the macro form.
 *
 * Context: the caller holds rcu_read_lock(), which keeps the thread list
 * walkable; every caller already reads its task under RCU, so the section
 * is not opened a second time here on the hot path.
 */
void read_thread_group(struct signal_struct *sig,
		       void (*read)(struct signal_struct *sig, void *arg),
		       void *arg)
{
	unsigned long flags;
	unsigned int seq;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "thread group read outside RCU");
	seq = read_seqbegin(&sig->stats_lock);
	read(sig, arg);
	if (read_seqretry(&sig->stats_lock, seq)) {
		/* A writer got in: the second pass excludes writers. */
		read_seqlock_excl_irqsave(&sig->stats_lock, flags);
		read(sig, arg);
		read_sequnlock_excl_irqrestore(&sig->stats_lock, flags);
	}
}

/*
 * The CPU time of every thread of the process, including the threads that
 * already exited, as the tick sampled it (see docs/statistics.md): the
 * lab's figures, read by read_thread_group().
 */
static void sum_cputime(struct signal_struct *sig, void *arg)
{
	struct task_sample *sample = arg;
	struct task_struct *t;

	sample->utime = sig->utime;
	sample->stime = sig->stime;
	__for_each_thread(sig, t) {
		sample->utime += READ_ONCE(t->utime);
		sample->stime += READ_ONCE(t->stime);
	}
}

static void process_cputime(struct task_struct *leader,
			    struct task_sample *sample)
{
	read_thread_group(leader->signal, sum_cputime, sample);
}

/*
 * The live process behind @pid, or NULL; called under rcu_read_lock(),
 * which keeps the task readable (no reference is taken).
 */
static struct task_struct *live_process(struct pid *pid)
{
	struct task_struct *task = pid_task(pid, PIDTYPE_TGID);

	return task && !process_exited(task) ? task : NULL;
}

/**
 * monitor_pid() - monitor another process
 * @nr: its pid, in the caller's pid namespace
 *
 * On failure the current target is kept.
 *
 * Return: 0, -EINVAL for a pid that is not positive, -ESRCH if no live
 * process has that pid, or -ENOMEM.
 */
int monitor_pid(pid_t nr)
{
	struct monitor_target *new;
	struct pid *pid;
	bool alive;

	if (nr <= 0)
		return -EINVAL;

	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	rcu_read_lock();
	alive = live_process(pid);
	rcu_read_unlock();
	if (!alive) {
		put_pid(pid);
		return -ESRCH;
	}

	new = kmalloc(sizeof(*new), GFP_KERNEL);
	if (!new) {
		put_pid(pid);
		return -ENOMEM;
	}
	new->pid = pid;
	monitor_publish(new);
	return 0;
}

/**
 * monitor_target_rcu() - the target, for a caller in an RCU read section
 *
 * Return: the target's struct pid, valid until rcu_read_unlock() (no
 * reference is taken), or NULL if there is no target.
 */
struct pid *monitor_target_rcu(void)
{
	struct monitor_target *t = rcu_dereference(monitor.target);

	return t ? t->pid : NULL;
}

/**
 * monitor_get_target() - a reference to the target
 *
 * Return: the target's struct pid, which the caller puts with put_pid(),
 * or NULL if there is no target.
 */
struct pid *monitor_get_target(void)
{
	struct pid *pid;

	rcu_read_lock();
	pid = get_pid(monitor_target_rcu());
	rcu_read_unlock();
	return pid;
}

/**
 * monitor_target() - the pid of the target, as the caller sees it
 * @nr: set to the pid in the caller's pid namespace
 *
 * The target stays the target after it exits.  Its number is given while
 * the process exists, as a zombie too, but not once it has been reaped:
 * the number may then already belong to another process.
 *
 * Return: 0, -ENODATA if there is no target, or -ESRCH once it has been
 * reaped or if it is not visible in the caller's pid namespace.
 */
int monitor_target(pid_t *nr)
{
	struct pid *pid = monitor_get_target();
	int err = 0;

	if (!pid)
		return -ENODATA;
	*nr = pid_vnr(pid);
	if (!*nr || !pid_has_task(pid, PIDTYPE_TGID))
		err = -ESRCH;
	put_pid(pid);
	return err;
}

/**
 * get_sample() - read the CPU times of the target
 * @sample: filled with the user and system times, in nanoseconds
 * @nr: if not NULL, set to the target's pid in the caller's pid namespace
 *
 * The one place a sample is taken, for the kthread, sysfs and ioctl alike.
 * The target is looked up once: the pid and the times are of the same
 * process even if another caller switches the target meanwhile.  No lock
 * is taken and no reference: the target and its task are read under RCU
 * (see the top of this file), and the times are summed by
 * read_thread_group().
 *
 * Return: 0, -ENODATA if there is no target, or -ESRCH if it has exited
 * or is not visible in the caller's pid namespace.
 */
int get_sample(struct task_sample *sample, pid_t *nr)
{
	struct task_struct *task;
	struct pid *pid;
	int err = 0;
	pid_t vnr;

	rcu_read_lock();
	pid = monitor_target_rcu();
	if (!pid) {
		err = -ENODATA;
		goto out_unlock;
	}
	vnr = pid_vnr(pid);
	task = vnr ? live_process(pid) : NULL;
	if (!task) {
		err = -ESRCH;
		goto out_unlock;
	}
	process_cputime(task, sample);
	if (nr)
		*nr = vnr;
out_unlock:
	rcu_read_unlock();
	return err;
}

/**
 * format_sample() - take a sample and write it as a line of text
 * @buf: where to write "pid N usr U sys S\n", NUL-terminated
 * @size: size of @buf
 *
 * Return: the length written (without the NUL), or the error of
 * get_sample().
 */
int format_sample(char *buf, size_t size)
{
	struct task_sample sample;
	pid_t nr;
	int err;

	err = get_sample(&sample, &nr);
	if (err)
		return err;
	return scnprintf(buf, size, TM_SAMPLE_FMT, nr, sample.utime,
			 sample.stime);
}

/**
 * monitor_release() - stop monitoring, dropping the reference to the target
 */
void monitor_release(void)
{
	monitor_publish(NULL);
	/* The callback is this module's code: wait for it before unloading. */
	rcu_barrier();
}
