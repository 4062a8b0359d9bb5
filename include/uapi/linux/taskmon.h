/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * taskmon user-space API: the ioctl requests of /dev/hello and
 * /dev/taskmonitor, shared by the kernel modules and by user space.
 *
 * All requests use ioctl type 'N'.  Request numbers (nr) are allocated
 * here, once, for every taskmon device so that no two requests collide:
 *
 *   0x00 - 0x0f   hello (helloioctl.ko)
 *   0x10 - 0x3f   taskmonitor (taskmonitor.ko)
 *
 * ABI rules: a published request is never changed.  New statistics get a
 * new request number with a new structure; the size of the argument is
 * part of the request code (_IOR/_IOW/_IOWR), so an old binary and a new
 * kernel can never disagree about a layout silently.
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
 * (ESRCH if there is no such process; the target is then unchanged),
 * 0 is EINVAL.  Out: the target's pid (ENODATA when there is none).
 */
#define TM_PID			_IOWR(TASKMON_IOC_TYPE, 0x13, __kernel_pid_t)
/* Fill a struct task_sample_text with the line sysfs shows. */
#define TM_GET_TEXT		_IOR(TASKMON_IOC_TYPE, 0x14, struct task_sample_text)

#endif /* _UAPI_LINUX_TASKMON_H */
