// SPDX-License-Identifier: GPL-2.0
/*
 * hellosysfs - /sys/kernel/hello greets whoever was written to it.
 *
 *   $ cat /sys/kernel/hello
 *   Hello sysfs!
 *   $ echo dude > /sys/kernel/hello
 *   $ cat /sys/kernel/hello
 *   Hello dude!
 *
 * The file holds no text: each read builds the greeting afresh from the
 * name last written (see docs/lab-answers.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/sysfs.h>

/* Longest name accepted, in bytes, trailing newline not counted. */
#define HELLO_NAME_MAX	64

/* Protects hello_name: a reader never sees half of a name being written. */
static DEFINE_MUTEX(hello_lock);
static char hello_name[HELLO_NAME_MAX + 1] = "sysfs";

static ssize_t hello_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	ssize_t len;

	mutex_lock(&hello_lock);
	len = sysfs_emit(buf, "Hello %s!\n", hello_name);
	mutex_unlock(&hello_lock);
	return len;
}

static ssize_t hello_store(struct kobject *kobj, struct kobj_attribute *attr,
			   const char *buf, size_t count)
{
	size_t len = count;

	/* "echo dude" and "echo -n dude" mean the same name. */
	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len > HELLO_NAME_MAX || memchr(buf, '\0', len))
		return -EINVAL;

	mutex_lock(&hello_lock);
	memcpy(hello_name, buf, len);
	hello_name[len] = '\0';
	mutex_unlock(&hello_lock);
	return count;
}

static struct kobj_attribute hello_attr = __ATTR_RW(hello);

static int __init hellosysfs_init(void)
{
	int err;

	err = sysfs_create_file(kernel_kobj, &hello_attr.attr);
	if (err)
		pr_err("cannot create /sys/kernel/%s: %d\n",
		       hello_attr.attr.name, err);
	return err;
}

static void __exit hellosysfs_exit(void)
{
	sysfs_remove_file(kernel_kobj, &hello_attr.attr);
}

module_init(hellosysfs_init);
module_exit(hellosysfs_exit);

MODULE_DESCRIPTION("/sys/kernel/hello: a greeting through sysfs");
MODULE_AUTHOR("taskmon developers");
MODULE_LICENSE("GPL");
