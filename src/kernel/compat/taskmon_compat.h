/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels taskmon supports (6.1 to 7.x) is
 * papered over here, and only here.  This header is force-included into
 * every source file (see taskmon.kbuild), so the modules read as if they
 * were written for a single kernel.  Each shim names the change it hides;
 * the TASKMON_HAVE_* macros come from the feature probes in taskmon.kbuild.
 *
 * It includes no kernel header itself: the shims are macros, expanded
 * where the real API is in scope, so each file's pr_fmt still comes
 * before <linux/printk.h>.
 */
#ifndef _TASKMON_COMPAT_H
#define _TASKMON_COMPAT_H

/*
 * v6.4, commit 1aaba11da9aa ("driver core: class: remove module * from
 * class_create()"): class_create() lost its owner argument.
 */
#ifdef TASKMON_HAVE_CLASS_CREATE_NAME_ONLY
#define taskmon_class_create(name)	class_create(name)
#else
#define taskmon_class_create(name)	class_create(THIS_MODULE, name)
#endif

/*
 * v6.2, commit f1a7941243c1 ("mm: convert mm's rss stats into
 * percpu_counter"): RSS counters are per-CPU and get_mm_counter() reads an
 * approximation.  Kernels that have get_mm_counter_sum() (added with the
 * change that made /proc/PID/status and statm use it; backported to
 * Debian's 6.12) get the exact sum, as /proc does there; older ones read
 * get_mm_counter(), which is what their /proc reads too.
 */
#ifdef TASKMON_HAVE_GET_MM_COUNTER_SUM
#define taskmon_mm_counter(mm, member)	get_mm_counter_sum(mm, member)
#else
#define taskmon_mm_counter(mm, member)	get_mm_counter(mm, member)
#endif

/*
 * v6.16, "exit: move and extend sched_process_exit() tracepoint": the
 * tracepoint passes group_dead, true in the thread that ends its thread
 * group (and fires before exit_mm() rather than after).  Before it, the
 * probe takes the task alone, and the thread that ends the group is one
 * that sees the group's count of live threads at zero: every thread
 * decrements it before the tracepoint, so the last one to do so always
 * sees zero, but a thread that decremented it earlier and reaches the
 * tracepoint later may see zero too (exits.c keeps it from reporting the
 * group twice).  A probe's prototype must match the tracepoint's exactly
 * (kCFI checks the indirect call).
 */
#ifdef TASKMON_HAVE_EXIT_TP_GROUP_DEAD
#define TASKMON_EXIT_PROBE_PARAMS	struct task_struct *task, bool group_dead
#define TASKMON_EXIT_GROUP_DEAD(task)	(group_dead)
#define TASKMON_EXIT_GROUP_DEAD_EXACT	true
#else
#define TASKMON_EXIT_PROBE_PARAMS	struct task_struct *task
#define TASKMON_EXIT_GROUP_DEAD(task)	(!atomic_read(&(task)->signal->live))
#define TASKMON_EXIT_GROUP_DEAD_EXACT	false
#endif

#endif /* _TASKMON_COMPAT_H */
