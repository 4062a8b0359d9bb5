// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/taskmonitor: reading gives a sample of the target, writing
 * "start" or "stop" starts or stops the monitor thread.
 *
 * The file is root's only (0600); the taskmon-dkms package's udev rule
 * lets the group taskmon read it, as it does the device (docs/security.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "taskmonitor.h"

static ssize_t taskmonitor_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	/* sysfs hands show() a whole page. */
	return format_sample(buf, PAGE_SIZE);
}

static ssize_t taskmonitor_store(struct kobject *kobj,
				 struct kobj_attribute *attr,
				 const char *buf, size_t count)
{
	int err;

	/*
	 * Steering, as on the device: the write bit is root's, but root in a
	 * user namespace may own the file, and has CAP_SYS_ADMIN only there.
	 * Not logged (docs/security.md).
	 */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	if (sysfs_streq(buf, "start")) {
		err = monitor_thread_start();
	} else if (sysfs_streq(buf, "stop")) {
		monitor_thread_stop();
		err = 0;
	} else {
		err = -EINVAL;
	}
	return err ? err : count;
}

static struct kobj_attribute taskmonitor_attr =
	__ATTR_RW_MODE(taskmonitor, 0600);

/**
 * taskmonitor_sysfs_init() - create /sys/kernel/taskmonitor
 *
 * Return: 0 or the error of sysfs_create_file().
 */
int taskmonitor_sysfs_init(void)
{
	int err;

	err = sysfs_create_file(kernel_kobj, &taskmonitor_attr.attr);
	if (err)
		pr_err("cannot create /sys/kernel/%s: %d\n",
		       taskmonitor_attr.attr.name, err);
	return err;
}

/**
 * taskmonitor_sysfs_exit() - remove /sys/kernel/taskmonitor
 *
 * Returns once no show() or store() is running any more.
 */
void taskmonitor_sysfs_exit(void)
{
	sysfs_remove_file(kernel_kobj, &taskmonitor_attr.attr);
}
