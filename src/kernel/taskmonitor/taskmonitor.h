/* SPDX-License-Identifier: GPL-2.0 */
/*
 * taskmonitor internals shared by its source files:
 *
 *   monitor.c  the target process and how a sample is read from it
 *   thread.c   the monitor kthread that logs a sample every second
 *   sysfs.c    /sys/kernel/taskmonitor
 *   stats.c    TM_STATS and TM_STATS_BATCH: statistics of any process
 *   list.c     TM_LIST: the kernel's list of processes
 *   chrdev.c   /dev/taskmonitor and its ioctl requests
 *   main.c     module parameter, init and exit
 */
#ifndef _TASKMONITOR_H
#define _TASKMONITOR_H

#include <linux/types.h>
#include <linux/taskmon.h>

/* The line shown by sysfs, TM_GET_TEXT and the kthread's log. */
#define TM_SAMPLE_FMT	"pid %d usr %llu sys %llu\n"

int monitor_pid(pid_t nr);
struct pid *monitor_get_target(void);
int monitor_target(pid_t *nr);
int get_sample(struct task_sample *sample, pid_t *nr);
int format_sample(char *buf, size_t size);
void monitor_release(void);

struct signal_struct;
void read_thread_group(struct signal_struct *sig,
		       void (*read)(struct signal_struct *sig, void *arg),
		       void *arg);

long tm_stats(struct taskmon_stats __user *uarg);
long tm_stats_batch(struct taskmon_stats_batch __user *uarg);
long tm_list(struct taskmon_list __user *uarg);

int monitor_thread_start(void);
void monitor_thread_stop(void);

int taskmonitor_sysfs_init(void);
void taskmonitor_sysfs_exit(void);

int taskmonitor_chrdev_init(void);
void taskmonitor_chrdev_exit(void);

#endif /* _TASKMONITOR_H */
