/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * taskmon user-space API: the ioctl requests of /dev/hello and
 * /dev/taskmonitor, shared by the kernel modules and by user space.
 *
 * All requests use ioctl type 'N' (the lab that taskmon grew out of fixed
 * it).  Request numbers (nr) are allocated here, once, for every taskmon
 * device so that no two requests collide:
 *
 *   0x01          HELLO (helloioctl.ko): the lab's number
 *   0x10 - 0x14   taskmonitor's lab requests (TM_GET ... TM_GET_TEXT): the
 *                 lab's numbers, kept
 *   0x20 - 0x3f   taskmonitor's own requests (TM_SUBSCRIBE, TM_STATS,
 *                 TM_STATS_BATCH, TM_LIST and those to come):
 *                 Documentation/userspace-api/ioctl/ioctl-number.rst gives
 *                 'N' 0x20-0x3F to no driver ('N' 0x00-0x1F is the USB
 *                 scanner's, 0x40-0x7F NVMe's, 0x80-0x8F ntsync's)
 *
 * This is ABI 1.0, frozen (docs/abi.md says what each request promises).
 * A published request, structure or field is never changed or removed;
 * structures grow only at their end, by the rules below, and a new kind
 * of question gets a new request number.
 *
 * Direction bits say what the request does with its argument, as strace
 * and seccomp decode them: _IOR the module writes it, _IOW reads it,
 * _IOWR both.  A fixed argument's size is in the request code.  An
 * extensible structure (struct taskmon_stats, struct taskmon_list)
 * carries its size in its own @size field, as sched_setattr()'s and
 * perf_event_open()'s attributes do, and its request code carries the
 * first published size, *_SIZE_VER0, forever: a program built with a
 * larger struct uses the same code.
 *
 * Sizes and strides (the one rule for every one of them: struct
 * taskmon_stats's @size, struct taskmon_stats_batch's @size, struct
 * taskmon_list's @size and @entry_size, struct taskmon_subscribe's
 * @record_size): a multiple of 8, from the structure's *_SIZE_VER0 up to
 * a page.  EINVAL below *_SIZE_VER0 or when not a multiple of 8, E2BIG
 * above a page (as clone3() and openat2() answer).  Every __u64 is at an
 * offset that is a multiple of 8, so the layouts are the same on i386 and
 * x86_64 and compat_ptr_ioctl() passes them unchanged (tests/abi checks).
 *
 * Smaller and larger structures (copy_struct_from_user() and
 * copy_struct_to_user()'s rules):
 *  - a caller's struct smaller than the module's is read as if the fields
 *    it lacks were zero, and only its own bytes are written;
 *  - every input a structure will ever have beyond its *_SIZE_VER0 comes
 *    with a flag that asks for it, which a module that does not know it
 *    refuses (EINVAL); so the bytes of a caller's struct past the
 *    module's are outputs the module does not know: it sets them to
 *    zero, it never refuses them.  What the module filled is said by a
 *    mask (struct taskmon_stats's @mask) or a size (struct
 *    taskmon_subscribe's @record_size), never guessed from zeros.
 *
 * Thread ids: a thread's id (TID) names its whole process wherever a
 * request takes a process (TM_STATS and TM_STATS_BATCH in process scope,
 * TM_SUBSCRIBE), as /proc/TID/stat does; TM_STATS_THREAD asks for the
 * thread itself.  TM_LIST lists processes only.
 */
#ifndef _UAPI_LINUX_TASKMON_H
#define _UAPI_LINUX_TASKMON_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TASKMON_IOC_TYPE	'N'

/* ---- hello (helloioctl.ko, /dev/hello) ---- */

/* Size of the buffer filled by HELLO, terminating NUL included. */
#define HELLO_MSG_LEN		32

/* Copy the NUL-terminated string "Hello ioctl!" to a char[HELLO_MSG_LEN]. */
#define HELLO			_IOR(TASKMON_IOC_TYPE, 0x01, char[HELLO_MSG_LEN])

/* ---- taskmonitor (taskmonitor.ko, /dev/taskmonitor) ---- */

/**
 * struct task_sample - CPU time consumed by the monitored process
 * @utime: time spent in user mode, in nanoseconds
 * @stime: time spent in kernel mode, in nanoseconds
 *
 * Both are summed over every thread of the process, as in
 * /proc/PID/stat, but read straight from the kernel's task structures.
 */
struct task_sample {
	__u64 utime;
	__u64 stime;
};

/* Size of the buffer filled by TM_GET_TEXT, terminating NUL included. */
#define TM_TEXT_LEN		128

/**
 * struct task_sample_text - a sample as the line /sys/kernel/taskmonitor shows
 * @text: NUL-terminated "pid N usr U sys S\n"
 */
struct task_sample_text {
	char text[TM_TEXT_LEN];
};

/* Fill a struct task_sample; ENODATA without a target, ESRCH once it exited. */
#define TM_GET			_IOR(TASKMON_IOC_TYPE, 0x10, struct task_sample)
/* Start the monitor thread; no argument; starting a running thread is a no-op. */
#define TM_START		_IO(TASKMON_IOC_TYPE, 0x11)
/* Stop the monitor thread; no argument; stopping a stopped thread is a no-op. */
#define TM_STOP			_IO(TASKMON_IOC_TYPE, 0x12)
/*
 * Read or set the target, as a pid of the caller's pid namespace.
 * In: a negative value reads the target, a positive one switches to it
 * (ESRCH if there is no such process, ENOMEM; the target is then
 * unchanged), 0 is EINVAL.  Out: the target's pid (ENODATA when there is none;
 * ESRCH once it has been reaped, as its number may then name another
 * process, or if it is not visible in the caller's pid namespace).
 */
#define TM_PID			_IOWR(TASKMON_IOC_TYPE, 0x13, __kernel_pid_t)
/* Fill a struct task_sample_text with the line sysfs shows. */
#define TM_GET_TEXT		_IOR(TASKMON_IOC_TYPE, 0x14, struct task_sample_text)

/* ---- per-process statistics (TM_STATS, TM_STATS_BATCH) ---- */

/*
 * Extensible and selective like statx(): the caller says how large its
 * struct taskmon_stats is (@size) and which groups of fields it wants
 * (@mask); the module does only the work those groups need, fills them
 * and says in @mask which groups it filled.  Fields are added at the end
 * only, with a new TM_STATS_SIZE_VERn and new mask bits.
 */

/* @flags: thread scope, @pid names one thread (a TID), not its process. */
#define TM_STATS_THREAD		(1U << 0)
#define TM_STATS_FLAGS_ALL	(TM_STATS_THREAD)

/*
 * @mask bits: groups of fields, asked for (in) and filled (out).  The
 * costly ones are TM_STATS_CPU, TM_STATS_FAULTS and TM_STATS_CTXSW (one
 * walk over the process's threads, which fills all three) and
 * TM_STATS_RSS (sums of per-CPU counters); the others are read from the
 * process itself.
 */
#define TM_STATS_IDS		(1ULL << 0)	/* pid, tgid */
#define TM_STATS_PPID		(1ULL << 1)	/* ppid */
#define TM_STATS_STATE		(1ULL << 2)	/* state */
#define TM_STATS_THREADS	(1ULL << 3)	/* threads */
#define TM_STATS_COMM		(1ULL << 4)	/* comm */
#define TM_STATS_CREDS		(1ULL << 5)	/* uid, euid, gid, egid */
#define TM_STATS_CPU		(1ULL << 6)	/* user_ns, system_ns */
#define TM_STATS_FAULTS		(1ULL << 7)	/* minor_faults, major_faults */
#define TM_STATS_CTXSW		(1ULL << 8)	/* voluntary/involuntary_ctxsw */
#define TM_STATS_RSS		(1ULL << 9)	/* rss_anon/file/shmem_bytes */
#define TM_STATS_VSIZE		(1ULL << 10)	/* vsize_bytes */
#define TM_STATS_START_TIME	(1ULL << 11)	/* start_time_ns */
#define TM_STATS_SAMPLE_TIME	(1ULL << 12)	/* sample_time_ns */
/* Every group of this header: a @mask of 0 asks for every group the module has. */
#define TM_STATS_ALL		((1ULL << 13) - 1)
/* Never a group: a @mask with it is EINVAL (as statx's STATX__RESERVED). */
#define TM_STATS__RESERVED	(1ULL << 63)

#define TM_COMM_LEN		16

/**
 * struct taskmon_stats - statistics of one process (or thread)
 * @size: in: sizeof(struct taskmon_stats) as the caller knows it
 * @flags: in: TM_STATS_* flags (unknown flags are EINVAL)
 * @pid: in: a pid of the caller's pid namespace, or 0 for the module's
 *	current target; out: the pid the figures are of (the target's when
 *	0 was asked, read in the same step as the figures).  In process
 *	scope a thread's TID names its whole process, as /proc/TID/stat does
 *	(@pid stays the TID asked, @tgid is the process)
 * @error: out, TM_STATS_BATCH only: 0, or the negative errno of this
 *	record (-ESRCH for a pid that does not exist or is not visible,
 *	-ENODATA for pid 0 without a target, -EINVAL for a negative pid or
 *	TM_STATS__RESERVED in @mask, -EACCES when access=ptrace refuses it)
 * @mask: in: the TM_STATS_* groups wanted, 0 for every group
 *	(TM_STATS_ALL); bits the module does not know are ignored, as
 *	statx() ignores them, so a newer program may ask an older module (a
 *	mask of unknown bits only is not 0: it asks for no group the module
 *	knows, and gets the ones that are always filled).
 *	Out: the groups filled.  TM_STATS_IDS (@pid, @tgid) is always
 *	filled; a group asked for may still be missing (a kernel thread has
 *	no memory: no TM_STATS_RSS), and one not asked for may be filled
 *	when it came at no cost.  Fields of groups not filled are zero and
 *	mean nothing.
 * @tgid: the thread group (process) id, in the caller's pid namespace
 * @ppid: the parent's process id, 0 if not visible in the namespace
 * @state: the state letter of /proc/PID/stat ('R', 'S', 'D', 'Z', ...)
 * @threads: the number of threads of the process
 * @uid: real user id, in the caller's user namespace
 * @euid: effective user id, in the caller's user namespace
 * @gid: real group id, in the caller's user namespace
 * @egid: effective group id, in the caller's user namespace
 * @comm: the command name, NUL-terminated
 * @user_ns: CPU time in user mode, nanoseconds
 * @system_ns: CPU time in kernel mode, nanoseconds
 * @minor_faults: page faults served without I/O
 * @major_faults: page faults that needed I/O
 * @voluntary_ctxsw: context switches the task asked for (it slept)
 * @involuntary_ctxsw: context switches forced on it (preemption)
 * @rss_anon_bytes: resident anonymous memory
 * @rss_file_bytes: resident file-backed memory
 * @rss_shmem_bytes: resident shared memory (shmem, tmpfs)
 * @vsize_bytes: virtual memory size
 * @start_time_ns: when the process (or thread) started, nanoseconds since
 *	boot (CLOCK_BOOTTIME), so that a reused pid is recognisable
 * @sample_time_ns: when these figures were read (CLOCK_BOOTTIME)
 *
 * In process scope (the default) the CPU time, faults and context
 * switches are summed over every thread, exited ones included, as in
 * /proc/PID/stat; in thread scope they are the thread's own.
 */
struct taskmon_stats {
	__u32 size;
	__u32 flags;
	__s32 pid;
	__s32 error;
	__u64 mask;
	__s32 tgid;
	__s32 ppid;
	__u32 state;
	__u32 threads;
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 egid;
	char comm[TM_COMM_LEN];
	__u64 user_ns;
	__u64 system_ns;
	__u64 minor_faults;
	__u64 major_faults;
	__u64 voluntary_ctxsw;
	__u64 involuntary_ctxsw;
	__u64 rss_anon_bytes;
	__u64 rss_file_bytes;
	__u64 rss_shmem_bytes;
	__u64 vsize_bytes;
	__u64 start_time_ns;
	__u64 sample_time_ns;
};

/*
 * The first published size of struct taskmon_stats.  @size, @flags, @pid
 * and @mask are its inputs; every other byte, and every byte past it, is
 * output.
 */
#define TM_STATS_SIZE_VER0	168

/* The largest batch TM_STATS_BATCH takes; more is E2BIG. */
#define TM_STATS_BATCH_MAX	4096

/**
 * struct taskmon_stats_batch - statistics of many processes in one call
 * @size: sizeof(struct taskmon_stats) as the caller knows it: the stride
 *	of @records (the rule of every size: a multiple of 8 from
 *	TM_STATS_SIZE_VER0 to a page)
 * @flags: TM_STATS_* flags, for every record
 * @count: number of records at @records, 1 to TM_STATS_BATCH_MAX (0 is
 *	EINVAL, more is E2BIG)
 * @reserved: must be zero
 * @records: user pointer to @count records; each one's @pid and @mask
 *	are read, as TM_STATS reads them, the rest written.  A record's own
 *	@error says whether it was filled: one exited pid does not fail the
 *	others.
 *
 * Return: 0 when every record was answered (each with its @error), or the
 * error of the call itself (EFAULT, EINVAL, E2BIG).
 */
struct taskmon_stats_batch {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 reserved;
	__aligned_u64 records;
};

/*
 * Fill one struct taskmon_stats (read and written: _IOWR); ESRCH if no
 * such (visible) process, ENODATA for pid 0 while the module has no
 * target.  The code carries TM_STATS_SIZE_VER0; the struct's real size
 * is its @size.
 */
#define TM_STATS		_IOWR(TASKMON_IOC_TYPE, 0x21, __u8[TM_STATS_SIZE_VER0])
/*
 * Fill every record of a struct taskmon_stats_batch (which is only read:
 * _IOW; the records it points to are read and written).
 */
#define TM_STATS_BATCH		_IOW(TASKMON_IOC_TYPE, 0x22, struct taskmon_stats_batch)

/* ---- streams of samples (TM_SUBSCRIBE, then read() and poll()) ---- */

/*
 * An open file of /dev/taskmonitor subscribes once to a set of processes;
 * the module then samples them every @period_ns and queues one struct
 * taskmon_record per process and period in the file's own ring, which
 * read() drains.  Files never share rings or subscriptions, and a
 * subscription is not steering: the global target and the kthread are
 * untouched.  Closing the file ends the subscription.
 */

/* Bounds of struct taskmon_subscribe's fields. */
#define TM_STREAM_PERIOD_MIN_NS		10000000ULL	/* 10 ms */
#define TM_STREAM_PERIOD_MAX_NS		3600000000000ULL	/* 1 hour */
#define TM_STREAM_PERIOD_DEFAULT_NS	1000000000ULL	/* 1 s, as the kthread */
#define TM_STREAM_PIDS_MAX		1024
#define TM_STREAM_RING_DEFAULT		256
#define TM_STREAM_RING_MAX		65536

/**
 * struct taskmon_subscribe - what an open file subscribes to
 * @flags: none defined yet: must be 0 (EINVAL)
 * @count: number of pids at @pids, 1 to TM_STREAM_PIDS_MAX (0 is EINVAL,
 *	more is E2BIG)
 * @period_ns: the sampling period, TM_STREAM_PERIOD_MIN_NS to
 *	TM_STREAM_PERIOD_MAX_NS (EINVAL outside), or 0 for the default
 * @ring: how many records the file's ring holds, 1 to TM_STREAM_RING_MAX
 *	(EINVAL outside), or 0 for TM_STREAM_RING_DEFAULT
 * @record_size: in: sizeof(struct taskmon_record) as the reader knows
 *	it, the size of every record read() returns: 0 for
 *	TM_RECORD_SIZE_VER0, else the rule of every size (a multiple of 8
 *	from TM_RECORD_SIZE_VER0 to a page: EINVAL, E2BIG above a page).
 *	Out: how many bytes of each record the module fills, the smaller of
 *	that size and its own; it sets the rest to zero.  So a newer module
 *	appends fields and an older reader still reads its own records.
 * @pids: user pointer to @count __s32 pids of the caller's pid namespace;
 *	0 is the module's target at the time of the call (ENODATA without
 *	one): the stream follows that process, not later changes of target.
 *	A thread's TID names its process.  ESRCH if one is not a live
 *	process visible to the caller.  EINVAL if one process is named
 *	twice (0 and the target's pid, or a TID and its process's pid,
 *	included).
 *
 * A file subscribes once (EBUSY the second time); open another file for
 * another subscription.  Each real uid holds at most the module parameter
 * max_user_subscriptions streams at a time across the machine (default
 * 128, root included; /sys/module/taskmonitor/parameters/, writable by
 * root): EDQUOT beyond, until one of its subscribed files is closed.  The
 * stream's memory (its ring and process array) is charged to the caller's
 * memory cgroup: ENOMEM when that cgroup's limit does not leave room.
 */
struct taskmon_subscribe {
	__u32 flags;
	__u32 count;
	__u64 period_ns;
	__u32 ring;
	__u32 record_size;
	__aligned_u64 pids;
};

/*
 * struct taskmon_record's @flags.  TM_RECORD_EXIT: the process exited, this
 * is its last record.  TM_RECORD_REAPED, with TM_RECORD_EXIT: its parent
 * reaped it before the module saw it exit, so the times are those of the
 * last sample (at most one period old) rather than the final ones.
 */
#define TM_RECORD_EXIT		(1U << 0)
#define TM_RECORD_REAPED	(1U << 1)
/*
 * TM_RECORD_GAP: the sampler skipped one or more periods just before this
 * record (it ran a period or more late); the timestamps show how long the
 * gap is.  Skipped periods produce no record and are not counted in @lost.
 */
#define TM_RECORD_GAP		(1U << 2)

/**
 * struct taskmon_record - one sample of one subscribed process, as read()
 *	returns it
 * @seq: the record's number in this file's stream, from 0; a gap is a
 *	lost record
 * @timestamp_ns: when the sample was taken, CLOCK_BOOTTIME
 * @pid: the process (its process id in the subscriber's pid namespace;
 *	the process's, when the subscriber named one of its threads)
 * @flags: TM_RECORD_* bits
 * @user_ns: CPU time in user mode, nanoseconds, as TM_STATS's @user_ns
 * @system_ns: CPU time in kernel mode, nanoseconds
 * @lost: how many records the ring dropped, oldest first, just before
 *	this one because the reader did not keep up
 *
 * The period is kept without drift: the n-th sample is due at the
 * subscription's start plus n periods.  A sampler that falls a period or
 * more behind (a stopped VM, a starved CPU) does not catch up: it skips
 * the due times that passed, keeps to the same schedule afterwards, and
 * flags the records that follow the gap TM_RECORD_GAP (one record per
 * process).
 */
struct taskmon_record {
	__u64 seq;
	__u64 timestamp_ns;
	__s32 pid;
	__u32 flags;
	__u64 user_ns;
	__u64 system_ns;
	__u64 lost;
};

/* The first published size of struct taskmon_record. */
#define TM_RECORD_SIZE_VER0	48

/*
 * Subscribe this file (the struct is read, and its @record_size written:
 * _IOWR).  Afterwards read() returns whole records of @record_size bytes
 * (EINVAL for a buffer smaller than one, 0 once every process's exit
 * record has been read), blocks until one is due (EAGAIN with
 * O_NONBLOCK), and poll() reports EPOLLIN while records wait and EPOLLHUP
 * after the last exit record was read.  read() on a file that did not
 * subscribe is EINVAL.
 */
#define TM_SUBSCRIBE		_IOWR(TASKMON_IOC_TYPE, 0x20, struct taskmon_subscribe)

/* ---- the kernel's list of processes (TM_LIST) ---- */

/**
 * struct taskmon_proc - one process of the list TM_LIST fills
 * @pid: its process id (thread group id) in the caller's pid namespace
 * @reserved: zero
 * @start_time_ns: when it started, nanoseconds since boot
 *	(CLOCK_BOOTTIME, of the caller's time namespace): /proc/PID/stat's
 *	starttime in nanoseconds, so that a reused pid is recognisable
 *
 * Fields are added at the end only, with a new TM_PROC_SIZE_VERn; the
 * caller's struct size (struct taskmon_list's @entry_size) is the stride
 * of the array, and the bytes of an entry that the module does not know
 * are set to zero.
 */
struct taskmon_proc {
	__s32 pid;
	__u32 reserved;
	__u64 start_time_ns;
};

/* The first published size of struct taskmon_proc. */
#define TM_PROC_SIZE_VER0	16

/* The largest @count TM_LIST takes (PID_MAX_LIMIT); more is E2BIG. */
#define TM_LIST_MAX		(4 * 1024 * 1024)

/**
 * struct taskmon_list - list every process of the caller's pid namespace
 * @size: in: sizeof(struct taskmon_list) as the caller knows it (the rule
 *	of every size: a multiple of 8 from TM_LIST_SIZE_VER0 to a page; the
 *	bytes past the module's struct are set to zero)
 * @flags: in: zero (no flag is defined yet; any is EINVAL)
 * @entry_size: in: sizeof(struct taskmon_proc) as the caller knows it,
 *	the stride of @entries: the rule of every size (a multiple of 8
 *	from TM_PROC_SIZE_VER0 to a page)
 * @count: in: how many entries fit at @entries, 0 to TM_LIST_MAX
 * @entries: in: user pointer to @count entries of @entry_size bytes
 * @total: out: how many processes the walk found, whether they fitted or
 *	not: the @count needed (at the time of the walk)
 * @reserved: zero
 * @time_ns: out: when the walk began (CLOCK_BOOTTIME, as @start_time_ns):
 *	a process that started later may be missing from the list
 *
 * Every thread group (process) that the caller's pid namespace can see,
 * zombies included, threads never: one entry per process, in ascending
 * order of pid, no pid twice, as /proc's own listing walks them.  The
 * walk takes a consistent look at each process, not a snapshot of the
 * whole system: a process that exits during the walk may still be
 * listed, one that is forked during the walk may be missing.
 *
 * Return (the ioctl's own value): with @count 0, the number of processes
 * (nothing is written at @entries, which may be 0), as getgroups(0) and
 * listxattr(size 0) answer; else the number of entries written, from the
 * first one on, when all fitted; -ERANGE when more than @count were found:
 * the first @count entries are written (an incomplete list) and @total
 * says how many are needed - allocate more (processes come and go: add a
 * margin) and call again.  @total and @time_ns are written on success
 * and with ERANGE.  Other errors: EFAULT, EINVAL, E2BIG (@count above
 * TM_LIST_MAX, a size above a page), EINTR (a fatal signal came first).
 *
 * Reading only: a file opened read-only may ask.  The layout is the same
 * on i386 and x86_64 (tests/abi checks it).
 */
struct taskmon_list {
	__u32 size;
	__u32 flags;
	__u32 entry_size;
	__u32 count;
	__aligned_u64 entries;
	__u32 total;
	__u32 reserved;
	__u64 time_ns;
};

/*
 * The first published size of struct taskmon_list.  @size up to
 * @entries are its inputs, @total and @time_ns its outputs.
 */
#define TM_LIST_SIZE_VER0	40

/*
 * List the processes into a caller-sized array (struct taskmon_list, read
 * and written: _IOWR).  The code carries TM_LIST_SIZE_VER0; the struct's
 * real size is its @size.
 */
#define TM_LIST			_IOWR(TASKMON_IOC_TYPE, 0x23, __u8[TM_LIST_SIZE_VER0])

/* ---- exit records of every process (TM_SUBSCRIBE_EXITS, then read()) ---- */

/*
 * A file subscribed with TM_SUBSCRIBE_EXITS receives one struct
 * taskmon_exit for every process (thread group) of the subscriber's pid
 * namespace that exits from then on, short-lived ones included, in its own
 * ring, which read() drains and poll() watches as a stream's.  It never
 * ends: read() blocks (EAGAIN with O_NONBLOCK) until the next exit.  The
 * module watches exits only while such a file is open.  A reader that
 * does not keep up loses the oldest records, counted in the next record's
 * @lost; it slows no exiting process.
 */

/* Bounds of struct taskmon_exits_subscribe's @ring. */
#define TM_EXITS_RING_DEFAULT		4096
#define TM_EXITS_RING_MAX		65536

/**
 * struct taskmon_exits_subscribe - subscribe a file to every exit
 * @flags: none defined yet: must be 0 (EINVAL)
 * @ring: how many records the file's ring holds, 1 to TM_EXITS_RING_MAX
 *	(EINVAL outside), or 0 for TM_EXITS_RING_DEFAULT
 * @record_size: in: sizeof(struct taskmon_exit) as the reader knows it,
 *	the size of every record read() returns: 0 for TM_EXIT_SIZE_VER0,
 *	else the rule of every size (a multiple of 8 from TM_EXIT_SIZE_VER0
 *	to a page).  Out: how many bytes of each record the module fills;
 *	it sets the rest to zero.
 * @reserved: zero (EINVAL otherwise)
 *
 * As TM_SUBSCRIBE: once per file (EBUSY), counted in the caller's real
 * uid's max_user_subscriptions (EDQUOT), charged to its memory cgroup
 * (ENOMEM).  Under access=ptrace, a subscriber without CAP_SYS_PTRACE,
 * CAP_PERFMON or CAP_SYS_ADMIN receives only the exits of processes whose
 * user and group ids all equal its own (docs/exits.md).
 */
struct taskmon_exits_subscribe {
	__u32 flags;
	__u32 ring;
	__u32 record_size;
	__u32 reserved;
};

/**
 * struct taskmon_exit - the end of one process, as read() returns it
 * @seq: the record's number in this file's stream, from 0
 * @lost: how many records the ring dropped just before this one because
 *	the reader did not keep up
 * @pid: the process id, in the subscriber's pid namespace
 * @ppid: its parent's when it exited (0 if not visible there)
 * @uid: its real user id, in the subscriber's user namespace
 * @status: its exit status as wait4() reports it to the parent
 *	(WIFEXITED(), WEXITSTATUS(), WIFSIGNALED(), WTERMSIG() decode it)
 * @start_time_ns: when it started (CLOCK_BOOTTIME of the subscriber's time
 *	namespace, as struct taskmon_stats's)
 * @exit_time_ns: when its last thread exited (the same clock)
 * @user_ns: its final CPU time in user mode, every thread's, nanoseconds:
 *	what the parent's wait4() rusage adds to @children_user_ns
 * @system_ns: its final CPU time in kernel mode
 * @children_user_ns: user time of its own children that it waited for
 *	(wait4()'s rusage is the sum of both)
 * @children_system_ns: system time of those children
 * @max_rss_bytes: its peak resident memory (getrusage()'s ru_maxrss)
 * @minor_faults: page faults without I/O, every thread's
 * @major_faults: page faults with I/O
 * @voluntary_ctxsw: context switches by waiting, every thread's
 * @involuntary_ctxsw: context switches by preemption
 * @comm: its name (the thread group leader's), NUL-terminated
 *
 * Fields are added at the end only, with a new TM_EXIT_SIZE_VERn.
 */
struct taskmon_exit {
	__u64 seq;
	__u64 lost;
	__s32 pid;
	__s32 ppid;
	__u32 uid;
	__s32 status;
	__u64 start_time_ns;
	__u64 exit_time_ns;
	__u64 user_ns;
	__u64 system_ns;
	__u64 children_user_ns;
	__u64 children_system_ns;
	__u64 max_rss_bytes;
	__u64 minor_faults;
	__u64 major_faults;
	__u64 voluntary_ctxsw;
	__u64 involuntary_ctxsw;
	char comm[16];
};

/* The first published size of struct taskmon_exit. */
#define TM_EXIT_SIZE_VER0	136

/*
 * Subscribe this file to every exit (the struct is read, and its
 * @record_size written: _IOWR).  Afterwards read() returns whole records
 * of @record_size bytes (EINVAL for a buffer smaller than one).
 */
#define TM_SUBSCRIBE_EXITS	_IOWR(TASKMON_IOC_TYPE, 0x24, struct taskmon_exits_subscribe)

#endif /* _UAPI_LINUX_TASKMON_H */
