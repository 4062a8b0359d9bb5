// SPDX-License-Identifier: GPL-2.0
/*
 * squatter - a test-only module that takes, before taskmonitor loads, one of
 * the things taskmonitor's init registers, so that the tests see that init
 * step fail and can check that taskmonitor unwinds what it did before it.
 *
 *   insmod squatter.ko squat=WHAT
 *
 *   sysfs    creates /sys/kernel/taskmonitor: sysfs_create_file() fails
 *   class    creates the device class "taskmonitor": class_create() fails
 *   majors   takes every free dynamic character-device major, so that
 *            register_chrdev(0, ...) fails
 *   chrdev   registers a character device named "taskmonitor": the kernel
 *            allows two devices of one name with dynamic majors, so this
 *            one must not make taskmonitor fail
 *
 * Never load it outside the test VM: with squat=majors no other driver can
 * get a dynamic major until it is unloaded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#define TAKEN_NAME	"taskmonitor"
#define MAJORS_NAME	"squatter"

/* class_create() lost its owner argument in v6.4 (see squatter's Kbuild). */
#ifdef SQUATTER_CLASS_CREATE_NAME_ONLY
#define squatter_class_create(name)	class_create(name)
#else
#define squatter_class_create(name)	class_create(THIS_MODULE, name)
#endif

static char *squat = "class";
module_param(squat, charp, 0444);
MODULE_PARM_DESC(squat, "what to take: sysfs, class, majors or chrdev");

/* Set at init, released at exit; nothing else touches them. */
static struct class *squatter_class;
static bool sysfs_taken;
static int majors[CHRDEV_MAJOR_MAX];
static unsigned int nr_majors;
static const char *majors_name;

static const struct file_operations squatter_fops = {
	.owner = THIS_MODULE,
};

static ssize_t taskmonitor_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "squatter\n");
}

static struct kobj_attribute squatter_attr = __ATTR_RO(taskmonitor);

static int take_sysfs(void)
{
	int err = sysfs_create_file(kernel_kobj, &squatter_attr.attr);

	sysfs_taken = !err;
	return err;
}

static int take_class(void)
{
	squatter_class = squatter_class_create(TAKEN_NAME);
	if (IS_ERR(squatter_class)) {
		int err = PTR_ERR(squatter_class);

		squatter_class = NULL;
		return err;
	}
	return 0;
}

/* Register devices until the kernel has no dynamic major left to give. */
static int take_majors(void)
{
	int major;

	while (nr_majors < ARRAY_SIZE(majors)) {
		major = register_chrdev(0, MAJORS_NAME, &squatter_fops);
		if (major < 0)
			break;
		majors[nr_majors++] = major;
	}
	majors_name = MAJORS_NAME;
	pr_info("took %u dynamic majors\n", nr_majors);
	return nr_majors ? 0 : -EBUSY;
}

static int take_chrdev(void)
{
	int major = register_chrdev(0, TAKEN_NAME, &squatter_fops);

	if (major < 0)
		return major;
	majors[nr_majors++] = major;
	majors_name = TAKEN_NAME;
	return 0;
}

static void release_all(void)
{
	while (nr_majors > 0) {
		nr_majors--;
		unregister_chrdev(majors[nr_majors], majors_name);
	}
	if (squatter_class)
		class_destroy(squatter_class);
	squatter_class = NULL;
	if (sysfs_taken)
		sysfs_remove_file(kernel_kobj, &squatter_attr.attr);
	sysfs_taken = false;
}

static int __init squatter_init(void)
{
	int err;

	if (!squat)
		err = -EINVAL;
	else if (!strcmp(squat, "sysfs"))
		err = take_sysfs();
	else if (!strcmp(squat, "class"))
		err = take_class();
	else if (!strcmp(squat, "majors"))
		err = take_majors();
	else if (!strcmp(squat, "chrdev"))
		err = take_chrdev();
	else
		err = -EINVAL;

	if (err) {
		pr_err("cannot take %s: %d\n", squat ? squat : "(null)", err);
		release_all();
		return err;
	}
	pr_info("took %s\n", squat);
	return 0;
}

static void __exit squatter_exit(void)
{
	release_all();
	pr_info("released %s\n", squat);
}

module_init(squatter_init);
module_exit(squatter_exit);

MODULE_DESCRIPTION("Test only: takes taskmonitor's names so that its load fails");
MODULE_AUTHOR("taskmon developers");
MODULE_LICENSE("GPL");
