// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/taskmonitor: the ioctl requests of include/uapi/linux/taskmon.h,
 * one function each.  Pids cross this interface in the caller's pid
 * namespace.  Who may do what is docs/security.md's model: whoever may
 * open the device reads (under access=ptrace, other processes only where
 * ptrace's rules let the opener: access.c); steering needs more
 * (tm_may_steer()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include "taskmonitor.h"

#define TM_DEV_NAME	"taskmonitor"

/* Set once at init, cleared at exit; no lock needed in between. */
static int tm_major;
static struct class *tm_class;

/*
 * Set (with release semantics) once init can no longer fail.  Until then
 * open() is refused, even through a node made with mknod as soon as the
 * major is registered, so no file can outlive a module whose init failed.
 */
static bool tm_ready;

static int tm_open(struct inode *inode, struct file *file)
{
	/* Pairs with the smp_store_release() at the end of taskmonitor_chrdev_init(). */
	if (!smp_load_acquire(&tm_ready))
		return -ENODEV;
	/* read() hands out records, not bytes at offsets: no seek, no pread. */
	return stream_open(inode, file);
}

/**
 * tm_sub_publish() - make @sub the subscription of @file, once
 * @file: the open file
 * @sub: a stream or exit subscription, completely set up
 *
 * Return: 0, or -EBUSY if the file has a subscription already (@sub is
 * then the caller's to free).
 */
int tm_sub_publish(struct file *file, struct tm_sub *sub)
{
	/* cmpxchg() orders the set-up before; pairs with file_sub(). */
	return cmpxchg(&file->private_data, NULL, sub) ? -EBUSY : 0;
}

static struct tm_sub *file_sub(struct file *file)
{
	/* Pairs with the cmpxchg() in tm_sub_publish(). */
	return smp_load_acquire(&file->private_data);
}

static int tm_release(struct inode *inode, struct file *file)
{
	struct tm_sub *sub = file->private_data;

	if (sub)
		sub->release(sub);
	return 0;
}

/* read() of a file without a subscription is EINVAL (docs/abi.md). */
static ssize_t tm_read(struct file *file, char __user *buf, size_t len,
		       loff_t *ppos)
{
	struct tm_sub *sub = file_sub(file);

	return sub ? tm_ring_read(&sub->ring, file, buf, len) : -EINVAL;
}

/* poll() of a file without a subscription is EPOLLERR: read() would fail. */
static __poll_t tm_poll(struct file *file, poll_table *wait)
{
	struct tm_sub *sub = file_sub(file);

	return sub ? tm_ring_poll(&sub->ring, file, wait) : EPOLLERR;
}

/*
 * TM_GET is the module's cheapest read and the one polled in tight loops:
 * its two fields are stored in one user-access section (as filldir()
 * does) rather than by copy_to_user(), whose string copy costs more than
 * the rest of the request (docs/performance.md).
 */
static long tm_get(struct task_sample __user *arg)
{
	struct task_sample sample;
	int err;

	err = get_sample(&sample, NULL);
	if (err)
		return err;
	if (!user_write_access_begin(arg, sizeof(*arg)))
		return -EFAULT;
	unsafe_put_user(sample.utime, &arg->utime, efault);
	unsafe_put_user(sample.stime, &arg->stime, efault);
	user_write_access_end();
	return 0;
efault:
	user_write_access_end();
	return -EFAULT;
}

static long tm_get_text(struct task_sample_text __user *arg)
{
	struct task_sample_text line = {};
	int len;

	len = format_sample(line.text, sizeof(line.text));
	if (len < 0)
		return len;
	if (copy_to_user(arg, &line, sizeof(line)))
		return -EFAULT;
	return 0;
}

/**
 * tm_check_size() - the rule of every size and stride of the uapi
 * @size: a struct size or a stride the caller gave
 * @ver0: the first published size of that struct (its *_SIZE_VER0)
 *
 * A multiple of 8 (so that every __u64 of every element stays aligned)
 * from @ver0 up to a page, as docs/abi.md says of every one of them.
 *
 * Return: 0; -EINVAL below @ver0 or not a multiple of 8; -E2BIG above a
 * page, as clone3() and openat2() answer.
 */
int tm_check_size(u32 size, u32 ver0)
{
	if (size > PAGE_SIZE)
		return -E2BIG;
	if (size < ver0 || size % 8)
		return -EINVAL;
	return 0;
}

/**
 * tm_copy_array() - copy kernel elements to a caller's array of its own stride
 * @dst: the caller's array
 * @stride: the caller's element size (tm_check_size() accepted it)
 * @src: @n elements of @size bytes, this module's struct
 * @size: this module's element size
 * @n: how many
 *
 * Each element takes @stride bytes at @dst: the bytes both structs have,
 * then zeros where the caller's struct is larger (copy_struct_to_user()'s
 * rule, docs/abi.md).  The common case, the same size, is one copy.
 *
 * Return: 0 or -EFAULT.
 */
int tm_copy_array(char __user *dst, u32 stride, const void *src, size_t size,
		  unsigned int n)
{
	size_t known = min_t(size_t, stride, size);
	const char *elem = src;
	unsigned int i;

	if (stride == size)
		return copy_to_user(dst, src, n * size) ? -EFAULT : 0;
	for (i = 0; i < n; i++, dst += stride, elem += size) {
		if (copy_to_user(dst, elem, known))
			return -EFAULT;
		if (stride > known && clear_user(dst + known, stride - known))
			return -EFAULT;
	}
	return 0;
}

/*
 * Steering - setting the target, starting or stopping the kthread - changes
 * what every other user of the module sees.  It needs a file opened for
 * writing (EBADF, as write(2) answers on a read-only file) and
 * CAP_SYS_ADMIN in the initial user namespace (EPERM).  The file's mode is
 * checked first: it is free, and a failed capability check may be audited
 * by a security module.  A refusal is not logged, or any reader could
 * flood the log.  Callers check before doing anything else, so a refused
 * call changes nothing.
 */
static int tm_may_steer(const struct file *file)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return 0;
}

static long tm_pid(struct file *file, __kernel_pid_t __user *arg)
{
	pid_t nr;
	int err;

	if (get_user(nr, arg))
		return -EFAULT;

	/* A negative pid asks for the target: that is reading. */
	if (nr < 0) {
		err = monitor_target(&nr);
		if (err)
			return err;
		return put_user(nr, arg) ? -EFAULT : 0;
	}

	err = tm_may_steer(file);
	if (err)
		return err;

	/*
	 * The answer is the pid that was asked for: write it back before
	 * switching, so that a read-only buffer fails with EFAULT and leaves
	 * the target as it was.
	 */
	if (nr > 0 && put_user(nr, arg))
		return -EFAULT;
	return monitor_pid(nr);
}

static long tm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	int err;

	switch (cmd) {
	case TM_GET:
		return tm_get(argp);
	case TM_GET_TEXT:
		return tm_get_text(argp);
	case TM_START:
		err = tm_may_steer(file);
		return err ? err : monitor_thread_start();
	case TM_STOP:
		err = tm_may_steer(file);
		if (!err)
			monitor_thread_stop();
		return err;
	case TM_PID:
		return tm_pid(file, argp);
	case TM_STATS:
		return tm_stats(file, argp);
	case TM_STATS_BATCH:
		return tm_stats_batch(file, argp);
	case TM_SUBSCRIBE:
		return tm_subscribe(file, argp);
	case TM_LIST:
		return tm_list(argp);
	case TM_SUBSCRIBE_EXITS:
		return tm_subscribe_exits(file, argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations tm_fops = {
	.owner		= THIS_MODULE,
	.open		= tm_open,
	.release	= tm_release,
	.read		= tm_read,
	.poll		= tm_poll,
	.unlocked_ioctl	= tm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * taskmonitor_chrdev_init() - register the "taskmonitor" character device
 * and create /dev/taskmonitor
 *
 * Must be the last step of module init: files of the device can be opened
 * as soon as it returns 0.
 *
 * Return: 0, or the error of the step that failed, with nothing left set up.
 */
int taskmonitor_chrdev_init(void)
{
	struct device *dev;
	int err;

	tm_major = register_chrdev(0, TM_DEV_NAME, &tm_fops);
	if (tm_major < 0) {
		pr_err("cannot register character device: %d\n", tm_major);
		return tm_major;
	}

	tm_class = taskmon_class_create(TM_DEV_NAME);
	if (IS_ERR(tm_class)) {
		err = PTR_ERR(tm_class);
		pr_err("cannot create device class: %d\n", err);
		goto err_unregister_chrdev;
	}

	dev = device_create(tm_class, NULL, MKDEV(tm_major, 0), NULL,
			    TM_DEV_NAME);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		pr_err("cannot create /dev/%s: %d\n", TM_DEV_NAME, err);
		goto err_destroy_class;
	}

	/* Everything open() relies on is set up: let it succeed. */
	smp_store_release(&tm_ready, true);
	pr_info("registered /dev/%s with major %d\n", TM_DEV_NAME, tm_major);
	return 0;

err_destroy_class:
	class_destroy(tm_class);
err_unregister_chrdev:
	unregister_chrdev(tm_major, TM_DEV_NAME);
	return err;
}

/**
 * taskmonitor_chrdev_exit() - remove /dev/taskmonitor and its registration
 */
void taskmonitor_chrdev_exit(void)
{
	device_destroy(tm_class, MKDEV(tm_major, 0));
	class_destroy(tm_class);
	unregister_chrdev(tm_major, TM_DEV_NAME);
}
