// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor kthread: logs a sample of the target every second.
 *
 * Start and stop requests arrive concurrently from sysfs and ioctl; they
 * are serialised by thread_lock, held across kthread_run() and
 * kthread_stop(), so there is never more than one monitor thread.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include "taskmonitor.h"

#define MONITOR_PERIOD	HZ

/* Protects monitor_thread, and orders every start against every stop. */
static DEFINE_MUTEX(thread_lock);
static struct task_struct *monitor_thread;

static int monitor_fn(void *unused)
{
	struct task_sample sample;
	pid_t nr;

	while (!kthread_should_stop()) {
		/* Quiet while there is no live target: nothing to report. */
		if (!get_sample(&sample, &nr))
			pr_info(TM_SAMPLE_FMT, nr, sample.utime, sample.stime);

		/*
		 * Set the state before checking the stop flag, so that a
		 * kthread_stop() between the two is not slept through.
		 */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		schedule_timeout(MONITOR_PERIOD);
	}
	return 0;
}

/**
 * monitor_thread_start() - start the monitor thread unless it runs already
 *
 * Return: 0, or the error of kthread_run().
 */
int monitor_thread_start(void)
{
	struct task_struct *thread;
	int err = 0;

	mutex_lock(&thread_lock);
	if (monitor_thread)
		goto out_unlock;

	thread = kthread_run(monitor_fn, NULL, KBUILD_MODNAME);
	if (IS_ERR(thread)) {
		err = PTR_ERR(thread);
		pr_err("cannot start monitor thread: %d\n", err);
		goto out_unlock;
	}
	monitor_thread = thread;
	pr_info("starting monitor thread\n");
out_unlock:
	mutex_unlock(&thread_lock);
	return err;
}

/**
 * monitor_thread_stop() - stop the monitor thread if it runs, and wait for it
 */
void monitor_thread_stop(void)
{
	mutex_lock(&thread_lock);
	if (monitor_thread) {
		pr_info("halting monitor thread\n");
		kthread_stop(monitor_thread);
		monitor_thread = NULL;
	}
	mutex_unlock(&thread_lock);
}
