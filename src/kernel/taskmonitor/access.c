// SPDX-License-Identifier: GPL-2.0
/*
 * Who may read which process: the access= parameter (docs/security.md).
 *
 *   access=group   (default) whoever may open /dev/taskmonitor reads every
 *                  process of their pid namespace: the device's group is
 *                  the grant;
 *   access=ptrace  reading a process other than the caller's own needs
 *                  what /proc needs for a process's privileged fields:
 *                  ptrace_may_access(PTRACE_MODE_READ_FSCREDS) with the
 *                  credentials of the file's opener, so that the uid rule,
 *                  dumpability and the security modules (Yama, SELinux,
 *                  AppArmor, Landlock) decide; holders of CAP_SYS_PTRACE
 *                  or CAP_PERFMON (or CAP_SYS_ADMIN, as perfmon_capable()
 *                  accepts) are exempt.
 *
 * ptrace_may_access() is not exported to modules (6.1, 6.12 and mainline
 * to date).  The kernel asks it, with exactly that mode and the caller's
 * current credentials, when /proc/PID/ns/<name> is followed (a check
 * proc(5) documents): so the module follows PID/ns/mnt in a procfs
 * instance of its own, mounted at load in the loader's pid namespace,
 * with the opener's credentials in force (override_creds(file->f_cred)).
 * The link's target is not used (an O_PATH open, closed at once): the
 * walk is the question, -EACCES is no.  The walk sleeps, so a query first
 * looks under RCU whether a check is needed (access_pid()), and only then
 * leaves RCU to make it, holding references to the struct pids involved.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/file.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "taskmonitor.h"

enum tm_access_mode {
	TM_ACCESS_GROUP,
	TM_ACCESS_PTRACE,
};

static const char * const access_names[] = {
	[TM_ACCESS_GROUP] = "group",
	[TM_ACCESS_PTRACE] = "ptrace",
};

/*
 * The mode.  Written by access_set(), which the kernel's parameter lock
 * serialises; read once per check with READ_ONCE(): a change applies to
 * the requests that start after it.
 */
static int access_mode = TM_ACCESS_GROUP;

/*
 * The module's procfs instance and its pid namespace, referenced: set at
 * init, put at exit, read-only in between (no lock needed).
 */
static struct vfsmount *proc_mnt;
static struct pid_namespace *proc_ns;

static int access_set(const char *val, const struct kernel_param *kp)
{
	int mode;

	/* Steering, as period_ms: root of the initial namespace only. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	mode = sysfs_match_string(access_names, val);
	if (mode < 0) {
		pr_err("access=%s: give group (every reader of the device reads every process) or ptrace (another process needs ptrace read access)\n",
		       val);
		return -EINVAL;
	}
	WRITE_ONCE(access_mode, mode);
	return 0;
}

static int access_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", access_names[READ_ONCE(access_mode)]);
}

static const struct kernel_param_ops access_ops = {
	.set = access_set,
	.get = access_get,
};

module_param_cb(access, &access_ops, &access_mode, 0644);
MODULE_PARM_DESC(access,
		 "who reads which process: group (default: whoever may open /dev/taskmonitor reads every process) or ptrace (reading another process needs ptrace read access, as /proc's privileged fields; CAP_SYS_PTRACE and CAP_PERFMON exempt); root may change it in /sys/module/taskmonitor/parameters/access");

/* The opener holds a capability that exempts it from the check. */
static bool opener_exempt(const struct file *file)
{
	return file_ns_capable(file, &init_user_ns, CAP_SYS_PTRACE) ||
	       file_ns_capable(file, &init_user_ns, CAP_PERFMON) ||
	       file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN);
}

/**
 * access_exempt() - whether @file's opener is exempt from access=ptrace
 * @file: the caller's open /dev/taskmonitor
 *
 * Return: true if it holds CAP_SYS_PTRACE, CAP_PERFMON or CAP_SYS_ADMIN.
 */
bool access_exempt(const struct file *file)
{
	return opener_exempt(file);
}

/**
 * access_exit_visible() - whether an exit subscriber receives an exit
 * @exempt: the subscriber was exempt when it subscribed (access_exempt())
 * @reader: the subscriber's credentials (its file's opener's)
 * @task: the exiting process's credentials
 *
 * access=group: every exit.  access=ptrace cannot ask ptrace_may_access()
 * when a process exits: the exit hook must not sleep, and the process's
 * address space and namespaces are going.  So a subscriber that is not
 * exempt receives the exits of the processes that ptrace's uid rule lets
 * it read: real, effective and saved user and group ids all equal to its
 * filesystem ids (what PTRACE_MODE_FSCREDS compares).  Dumpability and
 * the security modules are not asked: a process of the subscriber's own
 * ids that made itself non-dumpable, or that a security module keeps from
 * it, still has its exit delivered (docs/exits.md).
 *
 * Context: any; @task's credentials readable (RCU).
 */
bool access_exit_visible(bool exempt, const struct cred *reader,
			 const struct cred *task)
{
	if (READ_ONCE(access_mode) == TM_ACCESS_GROUP || exempt)
		return true;
	return uid_eq(reader->fsuid, task->uid) &&
	       uid_eq(reader->fsuid, task->euid) &&
	       uid_eq(reader->fsuid, task->suid) &&
	       gid_eq(reader->fsgid, task->gid) &&
	       gid_eq(reader->fsgid, task->egid) &&
	       gid_eq(reader->fsgid, task->sgid);
}

/*
 * The thread a check of @leader's process asks about: the leader, or if
 * it has exited (a zombie leader of live threads), a live thread, whose
 * /proc/TID/ns still exists.  Called under rcu_read_lock().
 */
static struct task_struct *live_thread(struct task_struct *leader)
{
	struct task_struct *t;

	if (!leader->exit_state)
		return leader;
	__for_each_thread(leader->signal, t) {
		if (!t->exit_state)
			return t;
	}
	return leader;
}

/**
 * access_pid() - whether reading @pid needs the ptrace check
 * @file: the caller's open /dev/taskmonitor
 * @pid: the pid asked for
 * @thread: the thread of @pid is read, not its whole process
 *
 * Context: rcu_read_lock() held; nothing sleeps.
 * Return: the struct pid of the task to check (valid until
 * rcu_read_unlock(): take a reference), or NULL if no check is needed:
 * access=group, the caller's own process, an exempt opener, or no task
 * (the query then fails with ESRCH).
 */
struct pid *access_pid(const struct file *file, struct pid *pid, bool thread)
{
	struct task_struct *t;

	if (READ_ONCE(access_mode) == TM_ACCESS_GROUP)
		return NULL;
	t = pid_task(pid, PIDTYPE_PID);
	if (!t || same_thread_group(t, current))
		return NULL;
	if (!thread)
		t = live_thread(READ_ONCE(t->group_leader));
	if (opener_exempt(file))
		return NULL;
	return task_pid(t);
}

/**
 * access_check() - ask ptrace_may_access() about @pid for @file's opener
 * @file: the caller's open /dev/taskmonitor
 * @pid: the task to ask about (access_pid()), referenced by the caller
 *
 * Follows PID/ns/mnt of the module's procfs with the opener's credentials.
 * Denied is -EACCES.  So is a task the question cannot be asked about: a
 * zombie (its namespaces are gone, so /proc answers ENOENT whatever the
 * check said) and a task outside the loader's pid namespace.
 *
 * Context: may sleep; no RCU read section held.
 * Return: 0 if the opener may read it, -EACCES if not, -ESRCH if it is
 * gone, or another error of the walk (-ENOMEM).
 */
int access_check(const struct file *file, struct pid *pid)
{
	const struct cred *old;
	struct file *f;
	char name[32];
	pid_t nr;
	int err;

	might_sleep();
	nr = pid_nr_ns(pid, proc_ns);
	if (!nr)
		return pid_has_task(pid, PIDTYPE_PID) ? -EACCES : -ESRCH;
	snprintf(name, sizeof(name), "%d/ns/mnt", nr);
	/* An O_PATH open: the walk and no more (no ->open, no file check). */
	old = override_creds(file->f_cred);
	f = file_open_root_mnt(proc_mnt, name, O_PATH, 0);
	revert_creds(old);
	err = PTR_ERR_OR_ZERO(f);
	if (!err)
		fput(f);
	/*
	 * While @pid still has its task, its number named that task all
	 * along: a struct pid never gets a task back once it lost it, and
	 * its number is freed only then.
	 */
	if (!pid_has_task(pid, PIDTYPE_PID))
		return -ESRCH;
	if (err == -ENOENT || err == -EPERM)
		return -EACCES;
	return err;
}

/**
 * access_may_read() - access_pid() and access_check() in one, for a
 * caller that holds a reference to @pid and may sleep
 * @file: the caller's open /dev/taskmonitor
 * @pid: the process
 *
 * Return: 0, or access_check()'s error.
 */
int access_may_read(const struct file *file, struct pid *pid)
{
	struct pid *check;
	int err = 0;

	rcu_read_lock();
	check = get_pid(access_pid(file, pid, false));
	rcu_read_unlock();
	if (check) {
		err = access_check(file, check);
		put_pid(check);
	}
	return err;
}

/**
 * taskmonitor_access_init() - mount the module's procfs instance
 *
 * Return: 0, or the error of the mount, with nothing left set up.
 */
int taskmonitor_access_init(void)
{
	struct file_system_type *proc;
	struct vfsmount *mnt;

	proc = get_fs_type("proc");
	if (!proc) {
		pr_err("no proc file system: the module needs CONFIG_PROC_FS\n");
		return -ENODEV;
	}
	/* The instance's pid namespace is the loader's, as for any mount. */
	proc_ns = get_pid_ns(task_active_pid_ns(current));
	mnt = kern_mount(proc);
	/* What put_filesystem() does (not exported): proc is built in. */
	module_put(proc->owner);
	if (IS_ERR(mnt)) {
		pr_err("cannot mount proc for access=ptrace: %ld\n", PTR_ERR(mnt));
		put_pid_ns(proc_ns);
		return PTR_ERR(mnt);
	}
	proc_mnt = mnt;
	return 0;
}

/**
 * taskmonitor_access_exit() - unmount it; no check can be running
 */
void taskmonitor_access_exit(void)
{
	kern_unmount(proc_mnt);
	put_pid_ns(proc_ns);
}
