// SPDX-License-Identifier: GPL-2.0
/*
 * pidhider - a TEST-ONLY module that hides one process from /proc's
 * directory listing the way kernel rootkits (Diamorphine and its kind) do:
 * by filtering what getdents64() returns, while the kernel's own task list
 * is left alone.  It exists so that the tests can prove that taskmon finds
 * such a process (docs/hidden.md); it is never packaged.
 *
 *   insmod pidhider.ko pid=PID      (or echo PID > /sys/module/pidhider/parameters/pid)
 *
 * A kprobe on filldir64() - the function getdents64() calls for each
 * entry it emits - looks at the entry's name; when it is the decimal PID,
 * the probe makes filldir64() return at once with "true" (on 6.1 and 6.12
 * filldir64() is `static bool filldir64(struct dir_context *ctx, const
 * char *name, int namlen, loff_t offset, u64 ino, unsigned int d_type)`,
 * true meaning "entry consumed, go on"): the entry is skipped, the listing
 * goes on.  /proc/PID itself still opens: only the listing lies.  Any
 * directory's entry of that name is skipped, as with the rootkits.
 *
 * Never load it outside the test VM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/string.h>

static int pid;
module_param(pid, int, 0644);
MODULE_PARM_DESC(pid, "the process to hide from getdents64() (0: none)");

/*
 * Where the probe sends filldir64() when the entry is to be hidden: it
 * runs with filldir64()'s stack, so its return goes to filldir64()'s
 * caller, with true.  noinline and address-taken: a real function, with
 * its endbr64 where IBT wants one.
 */
static noinline bool pidhider_skip_entry(void)
{
	return true;
}

/* x86_64: filldir64(ctx = di, name = si, namlen = dx, ...) */
static int pidhider_pre(struct kprobe *p, struct pt_regs *regs)
{
	const char *name = (const char *)regs->si;
	int namlen = (int)regs->dx;
	int target = READ_ONCE(pid);
	char want[12];
	int len;

	if (target <= 0 || namlen <= 0 || namlen >= (int)sizeof(want))
		return 0;
	len = snprintf(want, sizeof(want), "%d", target);
	if (len != namlen || memcmp(name, want, len))
		return 0;
	/* Returning 1 tells kprobes that the handler changed regs->ip. */
	instruction_pointer_set(regs, (unsigned long)pidhider_skip_entry);
	return 1;
}

/*
 * Never called (the probe sits at the function's entry, where it is
 * ftrace-based); its presence keeps kprobes from jump-optimizing the probe,
 * which would ignore the pre-handler's new regs->ip
 * (Documentation/trace/kprobes.rst, "Changing Execution Path").
 */
static void pidhider_post(struct kprobe *p, struct pt_regs *regs,
			  unsigned long flags)
{
}

static struct kprobe pidhider_kp = {
	.symbol_name	= "filldir64",
	.pre_handler	= pidhider_pre,
	.post_handler	= pidhider_post,
};

static int __init pidhider_init(void)
{
	int err = register_kprobe(&pidhider_kp);

	if (err) {
		pr_err("cannot probe filldir64: %d\n", err);
		return err;
	}
	pr_info("hiding pid %d from getdents64 (test only)\n", pid);
	return 0;
}

static void __exit pidhider_exit(void)
{
	unregister_kprobe(&pidhider_kp);
	pr_info("no longer hiding\n");
}

module_init(pidhider_init);
module_exit(pidhider_exit);

MODULE_DESCRIPTION("Test only: hides a pid from getdents64 like a rootkit");
MODULE_AUTHOR("taskmon developers");
MODULE_LICENSE("GPL");
