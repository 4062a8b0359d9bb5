// SPDX-License-Identifier: GPL-2.0
/*
 * helloioctl - the character device "hello", whose HELLO request copies
 * "Hello ioctl!" to user space.
 *
 * The major number is chosen by the kernel (see /proc/devices and the
 * log); /dev/hello is created by devtmpfs/udev from the device registered
 * here, and "mknod /dev/hello c MAJOR 0" works as well.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/taskmon.h>

#define HELLO_DEV_NAME	"hello"

static const char hello_msg[HELLO_MSG_LEN] = "Hello ioctl!";

/* Set once at init, cleared at exit; no lock needed in between. */
static int hello_major;
static struct class *hello_class;

/*
 * Set (with release semantics) once init can no longer fail.  Until then
 * open() is refused, even through a node made with mknod as soon as the
 * major is registered, so no file can outlive a module whose init failed.
 */
static bool hello_ready;

static int hello_open(struct inode *inode, struct file *file)
{
	/* Pairs with the smp_store_release() at the end of helloioctl_init(). */
	return smp_load_acquire(&hello_ready) ? 0 : -ENODEV;
}

static long hello_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case HELLO:
		if (copy_to_user((void __user *)arg, hello_msg,
				 sizeof(hello_msg)))
			return -EFAULT;
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hello_fops = {
	.owner		= THIS_MODULE,
	.open		= hello_open,
	.unlocked_ioctl	= hello_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static int __init helloioctl_init(void)
{
	struct device *dev;
	int err;

	hello_major = register_chrdev(0, HELLO_DEV_NAME, &hello_fops);
	if (hello_major < 0) {
		pr_err("cannot register character device: %d\n", hello_major);
		return hello_major;
	}

	hello_class = taskmon_class_create(HELLO_DEV_NAME);
	if (IS_ERR(hello_class)) {
		err = PTR_ERR(hello_class);
		pr_err("cannot create device class: %d\n", err);
		goto err_unregister_chrdev;
	}

	dev = device_create(hello_class, NULL, MKDEV(hello_major, 0), NULL,
			    HELLO_DEV_NAME);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		pr_err("cannot create /dev/%s: %d\n", HELLO_DEV_NAME, err);
		goto err_destroy_class;
	}

	/* Everything open() relies on is set up: let it succeed. */
	smp_store_release(&hello_ready, true);
	pr_info("registered /dev/%s with major %d\n", HELLO_DEV_NAME,
		hello_major);
	return 0;

err_destroy_class:
	class_destroy(hello_class);
err_unregister_chrdev:
	unregister_chrdev(hello_major, HELLO_DEV_NAME);
	return err;
}

static void __exit helloioctl_exit(void)
{
	device_destroy(hello_class, MKDEV(hello_major, 0));
	class_destroy(hello_class);
	unregister_chrdev(hello_major, HELLO_DEV_NAME);
}

module_init(helloioctl_init);
module_exit(helloioctl_exit);

MODULE_DESCRIPTION("/dev/hello: a greeting through ioctl");
MODULE_AUTHOR("taskmon developers");
MODULE_LICENSE("GPL");
