// SPDX-License-Identifier: GPL-2.0
/*
 * The monitored process, and the one way a sample is read from it.
 *
 * The target is held as a struct pid, not a pid number: the reference
 * keeps the struct alive, and it can never come to name another process
 * once the target exits and its number is reused.  The task itself is
 * only looked up, and referenced, for the time of a sample.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seqlock.h>
#include "taskmonitor.h"

/**
 * struct task_monitor - the process being monitored
 * @lock: protects @pid
 * @pid: the target, with a reference held; NULL while there is none
 */
struct task_monitor {
	struct mutex lock;	/* protects pid */
	struct pid *pid;
};

/* The one target of the module; monitor.lock protects monitor.pid. */
static struct task_monitor monitor = {
	.lock = __MUTEX_INITIALIZER(monitor.lock),
};

/*
 * The process is gone once its leader is a zombie with no thread left:
 * its task_struct may outlive it until reaped, but its times are final
 * and no longer those of a live process.
 */
static bool process_exited(struct task_struct *leader)
{
	return leader->exit_state && thread_group_empty(leader);
}

/*
 * Sum the CPU time of every thread of @leader's process, including the
 * threads that already exited (accumulated in signal_struct), the way
 * thread_group_cputime() does.  An exiting thread moves its times into
 * signal_struct under stats_lock: retrying the read until no writer got
 * in between keeps them from being counted twice or not at all.
 */
static void process_cputime(struct task_struct *leader,
			    struct task_sample *sample)
{
	struct signal_struct *sig = leader->signal;
	struct task_struct *t;
	unsigned int seq;

	rcu_read_lock();
	do {
		seq = read_seqbegin(&sig->stats_lock);
		sample->utime = sig->utime;
		sample->stime = sig->stime;
		for_each_thread(leader, t) {
			sample->utime += READ_ONCE(t->utime);
			sample->stime += READ_ONCE(t->stime);
		}
	} while (read_seqretry(&sig->stats_lock, seq));
	rcu_read_unlock();
}

/* Look up the live process behind @pid; the caller puts the reference. */
static struct task_struct *get_live_process(struct pid *pid)
{
	struct task_struct *task = get_pid_task(pid, PIDTYPE_TGID);

	if (task && process_exited(task)) {
		put_task_struct(task);
		task = NULL;
	}
	return task;
}

/**
 * monitor_pid() - monitor another process
 * @nr: its pid, in the caller's pid namespace
 *
 * On failure the current target is kept.
 *
 * Return: 0, -EINVAL for a pid that is not positive, or -ESRCH if no live
 * process has that pid.
 */
int monitor_pid(pid_t nr)
{
	struct task_struct *task;
	struct pid *pid, *old;

	if (nr <= 0)
		return -EINVAL;

	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	task = get_live_process(pid);
	if (!task) {
		put_pid(pid);
		return -ESRCH;
	}
	put_task_struct(task);

	mutex_lock(&monitor.lock);
	old = monitor.pid;
	monitor.pid = pid;
	mutex_unlock(&monitor.lock);

	put_pid(old);
	return 0;
}

/**
 * monitor_target() - the pid of the target, as the caller sees it
 * @nr: set to the pid in the caller's pid namespace (0 if not visible there)
 *
 * Return: 0, or -ENODATA if there is no target.
 */
int monitor_target(pid_t *nr)
{
	int err = 0;

	mutex_lock(&monitor.lock);
	if (monitor.pid)
		*nr = pid_vnr(monitor.pid);
	else
		err = -ENODATA;
	mutex_unlock(&monitor.lock);
	return err;
}

/**
 * get_sample() - read the CPU times of the target
 * @sample: filled with the user and system times, in nanoseconds
 * @nr: if not NULL, set to the target's pid in the caller's pid namespace
 *
 * The one place a sample is taken, for the kthread, sysfs and ioctl alike.
 *
 * Return: 0, -ENODATA if there is no target, or -ESRCH if it has exited.
 */
int get_sample(struct task_sample *sample, pid_t *nr)
{
	struct task_struct *task;
	int err = 0;

	mutex_lock(&monitor.lock);
	if (!monitor.pid) {
		err = -ENODATA;
		goto out_unlock;
	}
	task = get_live_process(monitor.pid);
	if (!task) {
		err = -ESRCH;
		goto out_unlock;
	}
	process_cputime(task, sample);
	put_task_struct(task);
	if (nr)
		*nr = pid_vnr(monitor.pid);
out_unlock:
	mutex_unlock(&monitor.lock);
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
	struct pid *old;

	mutex_lock(&monitor.lock);
	old = monitor.pid;
	monitor.pid = NULL;
	mutex_unlock(&monitor.lock);
	put_pid(old);
}
