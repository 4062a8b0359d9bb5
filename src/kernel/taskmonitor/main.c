// SPDX-License-Identifier: GPL-2.0
/*
 * taskmonitor - CPU time of a process, read from the kernel's own
 * structures (struct pid, struct task_struct) rather than from /proc.
 *
 *   insmod taskmonitor.ko target=PID
 *
 * A kthread logs "pid N usr U sys S" (nanoseconds) every second;
 * /sys/kernel/taskmonitor and /dev/taskmonitor give samples on demand
 * and start or stop the thread.  Without target= the module loads idle
 * and answers ENODATA until a target is set with TM_PID.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "taskmonitor.h"

/*
 * Written only while the module loads, before init runs: the load-time
 * target, which /sys/module/taskmonitor/parameters/target keeps showing.
 */
static int target;

static int target_set(const char *val, const struct kernel_param *kp)
{
	int nr, err;

	/* Base 10 only: a pid is decimal everywhere, so 010 is ten. */
	err = kstrtoint(val, 10, &nr);
	if (err || nr < 0) {
		pr_err("target=%s is not a pid: give a positive process id\n",
		       val);
		return -EINVAL;
	}
	target = nr;
	return 0;
}

static const struct kernel_param_ops target_ops = {
	.set = target_set,
	.get = param_get_int,
};

module_param_cb(target, &target_ops, &target, 0444);
MODULE_PARM_DESC(target,
		 "pid of the process to monitor at load, in decimal (default: none); shows the load-time value, not a target set later with TM_PID");

/*
 * The order matters for the error paths.  The kthread starts before any
 * interface exists, so no request can race with a failing start; the
 * character device comes last, so once a file of it can be opened no
 * later step can fail and leave that file pointing into a freed module.
 * Each step that fails undoes the ones before it, in reverse order, and
 * stopping the thread also stops one that a sysfs write started meanwhile.
 */
static int __init taskmonitor_init(void)
{
	int err;

	/*
	 * The uapi's frozen first sizes end at the last field of the first
	 * version (fields are only ever appended), and every extensible
	 * structure keeps a size that is a multiple of 8 (docs/abi.md).
	 */
	BUILD_BUG_ON(offsetofend(struct taskmon_stats, sample_time_ns) !=
		     TM_STATS_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct taskmon_list, time_ns) !=
		     TM_LIST_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct taskmon_proc, start_time_ns) !=
		     TM_PROC_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct taskmon_record, lost) !=
		     TM_RECORD_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct taskmon_exit, comm) !=
		     TM_EXIT_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct taskmon_stats) % 8 ||
		     sizeof(struct taskmon_list) % 8 ||
		     sizeof(struct taskmon_proc) % 8 ||
		     sizeof(struct taskmon_record) % 8 ||
		     sizeof(struct taskmon_exit) % 8);
	/* A ring numbers its records in their first field (ring.c). */
	BUILD_BUG_ON(offsetof(struct taskmon_record, seq) ||
		     offsetof(struct taskmon_exit, seq));

	err = taskmonitor_access_init();
	if (err)
		return err;

	if (target) {
		err = monitor_pid(target);
		if (err) {
			pr_err("target=%d: no such process\n", target);
			goto err_access_exit;
		}
	}

	err = monitor_thread_start();
	if (err)
		goto err_release_target;

	err = taskmonitor_sysfs_init();
	if (err)
		goto err_thread_stop;

	err = taskmonitor_chrdev_init();
	if (err)
		goto err_sysfs_exit;

	return 0;

err_sysfs_exit:
	taskmonitor_sysfs_exit();
err_thread_stop:
	monitor_thread_stop();
err_release_target:
	monitor_release();
err_access_exit:
	taskmonitor_access_exit();
	return err;
}

static void __exit taskmonitor_exit(void)
{
	taskmonitor_chrdev_exit();
	taskmonitor_sysfs_exit();
	monitor_thread_stop();
	monitor_release();
	taskmonitor_access_exit();
}

module_init(taskmonitor_init);
module_exit(taskmonitor_exit);

MODULE_DESCRIPTION("Monitor the CPU time of a process from inside the kernel");
MODULE_AUTHOR("taskmon developers");
MODULE_LICENSE("GPL");
