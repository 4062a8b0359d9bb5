/* SPDX-License-Identifier: GPL-2.0 */
/*
 * taskmonitor internals shared by its source files:
 *
 *   monitor.c  the target process and how a sample is read from it
 *   thread.c   the monitor kthread that logs a sample every second
 *   sysfs.c    /sys/kernel/taskmonitor
 *   stats.c    TM_STATS and TM_STATS_BATCH: statistics of any process
 *   stream.c   TM_SUBSCRIBE: streams of samples
 *   exits.c    TM_SUBSCRIBE_EXITS: an exit record for every process
 *   ring.c     the ring of records that read() and poll() of both drain
 *   list.c     TM_LIST: the kernel's list of processes
 *   access.c   the access= parameter: who reads which process
 *   chrdev.c   /dev/taskmonitor and its ioctl requests
 *   main.c     module parameter, init and exit
 */
#ifndef _TASKMONITOR_H
#define _TASKMONITOR_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
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

long tm_stats(const struct file *file, struct taskmon_stats __user *uarg);
long tm_stats_batch(const struct file *file,
		    struct taskmon_stats_batch __user *uarg);
int process_cpu(struct pid *pid, u64 *user_ns, u64 *system_ns, bool *exited);
bool process_exited(struct task_struct *leader);

/**
 * struct tm_ring - records queued for read() (ring.c)
 * @lock: protects @slots, @head, @count, @seq and @done
 * @slots: @size records of @elem_size bytes, the oldest at @head
 * @head: index of the oldest record
 * @count: number of records queued
 * @seq: the number of the next record queued
 * @done: no record will follow those queued
 * @size: how many records @slots holds; read-only after tm_ring_init()
 * @elem_size: the module's size of a record; read-only
 * @lost_offset: offset of a record's __u64 @lost; read-only
 * @record_size: the reader's size of a record; read-only
 * @read_lock: serialises readers, so that records are handed out once and
 *	in order; protects @next_read
 * @next_read: the number of the record a reader expects next; records
 *	dropped before it are counted in the next record's @lost
 * @wait: readers and pollers wait here for records
 */
struct tm_ring {
	spinlock_t lock;	/* protects slots, head, count, seq, done */
	void *slots;
	u32 head;
	u32 count;
	u64 seq;
	bool done;

	u32 size;
	u32 elem_size;
	u32 lost_offset;
	u32 record_size;

	struct mutex read_lock;	/* serialises readers; protects next_read */
	u64 next_read;
	wait_queue_head_t wait;
};

struct file;
struct poll_table_struct;
void *tm_sub_zalloc(size_t size);
int tm_ring_init(struct tm_ring *r, u32 size, u32 elem_size, u32 lost_offset,
		 u32 record_size);
void tm_ring_destroy(struct tm_ring *r);
void tm_ring_push(struct tm_ring *r, void *rec);
void tm_ring_skip(struct tm_ring *r);
void tm_ring_wake(struct tm_ring *r);
void tm_ring_end(struct tm_ring *r);
ssize_t tm_ring_read(struct tm_ring *r, struct file *file, char __user *buf,
		     size_t len);
__poll_t tm_ring_poll(struct tm_ring *r, struct file *file,
		      struct poll_table_struct *wait);

/**
 * struct tm_sub - what a subscribed file's private_data points to
 * @ring: its records, which read() and poll() hand out
 * @release: frees the subscription when the file is released
 *
 * The first member of a stream (stream.c) and of an exit subscription
 * (exits.c).  Published once, complete, by tm_sub_publish().
 */
struct tm_sub {
	struct tm_ring ring;
	void (*release)(struct tm_sub *sub);
};

int tm_sub_publish(struct file *file, struct tm_sub *sub);
int user_subs_get(kuid_t uid);
void user_subs_put(kuid_t uid);

long tm_subscribe(struct file *file, struct taskmon_subscribe __user *uarg);
long tm_subscribe_exits(struct file *file,
			struct taskmon_exits_subscribe __user *uarg);
void exit_figures(struct task_struct *t, struct taskmon_exit *e);
long tm_list(struct taskmon_list __user *uarg);

struct pid *access_pid(const struct file *file, struct pid *pid, bool thread);
int access_check(const struct file *file, struct pid *pid);
int access_may_read(const struct file *file, struct pid *pid);
bool access_exempt(const struct file *file);
struct cred;
bool access_exit_visible(bool exempt, const struct cred *reader,
			 const struct cred *task);
int taskmonitor_access_init(void);
void taskmonitor_access_exit(void);

int monitor_thread_start(void);
void monitor_thread_stop(void);

int taskmonitor_sysfs_init(void);
void taskmonitor_sysfs_exit(void);

int taskmonitor_chrdev_init(void);
void taskmonitor_chrdev_exit(void);

#endif /* _TASKMONITOR_H */
