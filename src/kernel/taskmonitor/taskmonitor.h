/* SPDX-License-Identifier: GPL-2.0 */
/*
 * taskmonitor internals shared by its source files:
 *
 *   monitor.c  the target process and how a sample is read from it
 *   thread.c   the monitor kthread that logs a sample every second
 *   sysfs.c    /sys/kernel/taskmonitor
 *   stats.c    TM_STATS and TM_STATS_BATCH: statistics of any process
 *   stream.c   TM_SUBSCRIBE, read() and poll(): streams of samples
 *   list.c     TM_LIST: the kernel's list of processes
 *   access.c   the access= parameter: who reads which process
 *   chrdev.c   /dev/taskmonitor and its ioctl requests
 *   main.c     module parameter, init and exit
 */
#ifndef _TASKMONITOR_H
#define _TASKMONITOR_H

#include <linux/types.h>
#include <linux/taskmon.h>

/* The line shown by sysfs, TM_GET_TEXT and the kthread's log. */
#define TM_SAMPLE_FMT	"pid %d usr %llu sys %llu\n"

struct pid;
struct task_struct;

int monitor_pid(pid_t nr);
struct pid *monitor_get_target(void);
struct pid *monitor_target_rcu(void);
int monitor_target(pid_t *nr);
int get_sample(struct task_sample *sample, pid_t *nr);
int format_sample(char *buf, size_t size);
void monitor_release(void);

struct signal_struct;
void read_thread_group(struct signal_struct *sig,
		       void (*read)(struct signal_struct *sig, void *arg),
		       void *arg);

int tm_check_size(u32 size, u32 ver0);
int tm_copy_array(char __user *dst, u32 stride, const void *src, size_t size,
		  unsigned int n);

struct file;
long tm_stats(const struct file *file, struct taskmon_stats __user *uarg);
long tm_stats_batch(const struct file *file,
		    struct taskmon_stats_batch __user *uarg);
int process_cpu(struct pid *pid, u64 *user_ns, u64 *system_ns, bool *exited);
bool process_exited(struct task_struct *leader);

struct poll_table_struct;
long tm_subscribe(struct file *file, struct taskmon_subscribe __user *uarg);
ssize_t tm_stream_read(struct file *file, char __user *buf, size_t len);
__poll_t tm_stream_poll(struct file *file, struct poll_table_struct *wait);
void tm_stream_release(struct file *file);
long tm_list(struct taskmon_list __user *uarg);

struct pid *access_pid(const struct file *file, struct pid *pid, bool thread);
int access_check(const struct file *file, struct pid *pid);
int access_may_read(const struct file *file, struct pid *pid);
int taskmonitor_access_init(void);
void taskmonitor_access_exit(void);

int monitor_thread_start(void);
void monitor_thread_stop(void);

int taskmonitor_sysfs_init(void);
void taskmonitor_sysfs_exit(void);

int taskmonitor_chrdev_init(void);
void taskmonitor_chrdev_exit(void);

#endif /* _TASKMONITOR_H */
