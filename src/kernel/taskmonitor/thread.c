// SPDX-License-Identifier: GPL-2.0
/*
 * The monitor kthread: logs a sample of the target every period_ms
 * milliseconds (default: every second, as the lab asks).
 *
 * Start and stop requests arrive concurrently from sysfs and ioctl; they
 * are serialised by thread_lock, held across kthread_run() and
 * kthread_stop(), so there is never more than one monitor thread.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include "taskmonitor.h"

/* Bounds of period_ms: faster would flood the log, slower is pointless. */
#define PERIOD_MIN_MS	100
#define PERIOD_MAX_MS	3600000

/*
 * The kthread's period.  Written by period_set() (parameter writes are
 * serialised by the kernel's param lock) and read once per sample by the
 * kthread, so a new period takes effect after the current wait.
 */
static unsigned int period_ms = 1000;

static int period_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;

	/* Steering, as on the device: root of the initial namespace only. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (kstrtouint(val, 10, &ms) || ms < PERIOD_MIN_MS ||
	    ms > PERIOD_MAX_MS) {
		pr_err("period_ms=%s: give a number of milliseconds from %u to %u\n",
		       val, PERIOD_MIN_MS, PERIOD_MAX_MS);
		return -EINVAL;
	}
	WRITE_ONCE(period_ms, ms);
	return 0;
}

static const struct kernel_param_ops period_ops = {
	.set = period_set,
	.get = param_get_uint,
};

module_param_cb(period_ms, &period_ops, &period_ms, 0644);
MODULE_PARM_DESC(period_ms,
		 "milliseconds between two samples of the monitor thread, 100 to 3600000 (default 1000); root may change it at any time in /sys/module/taskmonitor/parameters/period_ms");

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
		schedule_timeout(msecs_to_jiffies(READ_ONCE(period_ms)));
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
