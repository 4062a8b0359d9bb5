// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/taskmonitor: the ioctl requests of include/uapi/linux/taskmon.h,
 * one function each.  Pids cross this interface in the caller's pid
 * namespace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include "taskmonitor.h"

#define TM_DEV_NAME	"taskmonitor"

/* Set once at init, cleared at exit; no lock needed in between. */
static int tm_major;
static struct class *tm_class;

static long tm_get(struct task_sample __user *arg)
{
	struct task_sample sample;
	int err;

	err = get_sample(&sample, NULL);
	if (err)
		return err;
	if (copy_to_user(arg, &sample, sizeof(sample)))
		return -EFAULT;
	return 0;
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

static long tm_pid(__kernel_pid_t __user *arg)
{
	pid_t nr;
	int err;

	if (get_user(nr, arg))
		return -EFAULT;

	if (nr < 0)
		err = monitor_target(&nr);
	else
		err = monitor_pid(nr);
	if (err)
		return err;

	if (put_user(nr, arg))
		return -EFAULT;
	return 0;
}

static long tm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case TM_GET:
		return tm_get(argp);
	case TM_GET_TEXT:
		return tm_get_text(argp);
	case TM_START:
		return monitor_thread_start();
	case TM_STOP:
		monitor_thread_stop();
		return 0;
	case TM_PID:
		return tm_pid(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations tm_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= tm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * taskmonitor_chrdev_init() - register the "taskmonitor" character device
 * and create /dev/taskmonitor
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
