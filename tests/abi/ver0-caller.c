// SPDX-License-Identifier: GPL-2.0-only
/*
 * A caller built against the first published (VER0) structures of the
 * taskmon uapi, run against whatever module is loaded: the structures and
 * request codes are this file's own copies, frozen as ABI 1.0 published
 * them, NOT include/uapi/linux/taskmon.h's current ones.  So a module whose
 * structures grew must still answer this program: the promise of
 * taskmon.h ("a program built with a larger struct uses the same code",
 * and an older, smaller one keeps working).
 *
 *     taskmon-abi-ver0 [DEVICE]     (default /dev/taskmonitor)
 *
 * It asks TM_STATS (itself), TM_STATS_BATCH (itself and pid 1), TM_LIST
 * (its own pid must be listed) and TM_SUBSCRIBE + read() (one record of
 * itself), and checks each answer.  Output is TAP-like; exit status 0 when
 * every check holds, 1 otherwise, 2 if the device cannot be opened.
 * tests/kernel/test_abi_ver0.py runs it in the test VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

/* ---- ABI 1.0's VER0 structures, copied here on purpose ---- */

struct ver0_stats {
	__u32 size;
	__u32 flags;
	__s32 pid;
	__s32 error;
	__u64 mask;
	__s32 tgid;
	__s32 ppid;
	__u32 state;
	__u32 threads;
	__u32 uid;
	__u32 euid;
	__u32 gid;
	__u32 egid;
	char comm[16];
	__u64 user_ns;
	__u64 system_ns;
	__u64 minor_faults;
	__u64 major_faults;
	__u64 voluntary_ctxsw;
	__u64 involuntary_ctxsw;
	__u64 rss_anon_bytes;
	__u64 rss_file_bytes;
	__u64 rss_shmem_bytes;
	__u64 vsize_bytes;
	__u64 start_time_ns;
	__u64 sample_time_ns;
};

struct ver0_stats_batch {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 reserved;
	__u64 records;
};

struct ver0_subscribe {
	__u32 flags;
	__u32 count;
	__u64 period_ns;
	__u32 ring;
	__u32 record_size; /* 0: TM_RECORD_SIZE_VER0, as a caller that zeroed it */
	__u64 pids;
};

struct ver0_record {
	__u64 seq;
	__u64 timestamp_ns;
	__s32 pid;
	__u32 flags;
	__u64 user_ns;
	__u64 system_ns;
	__u64 lost;
};

struct ver0_proc {
	__s32 pid;
	__u32 reserved;
	__u64 start_time_ns;
};

struct ver0_list {
	__u32 size;
	__u32 flags;
	__u32 entry_size;
	__u32 count;
	__u64 entries;
	__u32 total;
	__u32 reserved;
	__u64 time_ns;
};

/* The VER0 sizes ABI 1.0 published (TM_*_SIZE_VER0). */
_Static_assert(sizeof(struct ver0_stats) == 168, "TM_STATS_SIZE_VER0");
_Static_assert(sizeof(struct ver0_stats_batch) == 24, "struct taskmon_stats_batch");
_Static_assert(sizeof(struct ver0_subscribe) == 32, "struct taskmon_subscribe");
_Static_assert(sizeof(struct ver0_record) == 48, "TM_RECORD_SIZE_VER0");
_Static_assert(sizeof(struct ver0_proc) == 16, "TM_PROC_SIZE_VER0");
_Static_assert(sizeof(struct ver0_list) == 40, "TM_LIST_SIZE_VER0");

/* The request codes, from the VER0 sizes: ABI 1.0's numbers and directions. */
#define VER0_TM_SUBSCRIBE _IOWR('N', 0x20, struct ver0_subscribe)
#define VER0_TM_STATS _IOWR('N', 0x21, struct ver0_stats)
#define VER0_TM_STATS_BATCH _IOW('N', 0x22, struct ver0_stats_batch)
#define VER0_TM_LIST _IOWR('N', 0x23, struct ver0_list)

#define TM_STATS_IDS (1ULL << 0)
#define TM_STATS_COMM (1ULL << 4)
#define TM_STREAM_PERIOD_MIN_NS 10000000ULL
#define LIST_ROOM 8192

static int failures;
static int checks;

static void check(int ok, const char *what)
{
	checks++;
	if (!ok)
		failures++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", checks, what);
}

static void check_errno(long ret, const char *what)
{
	if (ret < 0)
		printf("# %s: %s\n", what, strerror(errno));
	check(ret >= 0, what);
}

static void own_comm(char comm[16])
{
	memset(comm, 0, 16);
	if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0)
		strcpy(comm, "?");
}

static void test_stats(int fd)
{
	struct ver0_stats s;
	char comm[16];

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.pid = getpid();
	check_errno(ioctl(fd, VER0_TM_STATS, &s), "TM_STATS of itself");
	own_comm(comm);
	printf("# TM_STATS: pid %d tgid %d ppid %d comm '%.16s' mask %#llx threads %u\n",
	       s.pid, s.tgid, s.ppid, s.comm, (unsigned long long)s.mask, s.threads);
	check(s.size == sizeof(s) && s.error == 0, "TM_STATS: size kept, no error");
	check(s.pid == getpid() && s.tgid == getpid(), "TM_STATS: its own pid and tgid");
	check(s.ppid == getppid(), "TM_STATS: its parent");
	check(strncmp(s.comm, comm, sizeof(s.comm)) == 0, "TM_STATS: its own comm");
	check((s.mask & (TM_STATS_IDS | TM_STATS_COMM)) == (TM_STATS_IDS | TM_STATS_COMM),
	      "TM_STATS: mask has IDS and COMM");
	check(s.threads == 1 && s.state == 'R', "TM_STATS: one thread, running");
	check(s.start_time_ns > 0 && s.start_time_ns <= s.sample_time_ns,
	      "TM_STATS: started before it was sampled");
}

static void test_batch(int fd)
{
	struct ver0_stats rec[2];
	struct ver0_stats_batch batch;

	memset(rec, 0, sizeof(rec));
	rec[0].pid = getpid();
	rec[1].pid = 1;
	memset(&batch, 0, sizeof(batch));
	batch.size = sizeof(rec[0]);
	batch.count = 2;
	batch.records = (__u64)(uintptr_t)rec;
	check_errno(ioctl(fd, VER0_TM_STATS_BATCH, &batch), "TM_STATS_BATCH of itself and pid 1");
	printf("# TM_STATS_BATCH: %d '%.16s' error %d; %d '%.16s' error %d\n", rec[0].pid,
	       rec[0].comm, rec[0].error, rec[1].pid, rec[1].comm, rec[1].error);
	check(rec[0].error == 0 && rec[0].pid == getpid() && rec[0].tgid == getpid(),
	      "TM_STATS_BATCH: record 0 is itself");
	check(rec[1].error == 0 && rec[1].pid == 1 && rec[1].tgid == 1 && rec[1].comm[0],
	      "TM_STATS_BATCH: record 1 is pid 1, with a name");
}

static void test_list(int fd)
{
	static struct ver0_proc procs[LIST_ROOM];
	struct ver0_list req;
	int n, own = 0, ascending = 1, i;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.entry_size = sizeof(procs[0]);
	req.count = LIST_ROOM;
	req.entries = (__u64)(uintptr_t)procs;
	n = ioctl(fd, VER0_TM_LIST, &req);
	check_errno(n, "TM_LIST");
	printf("# TM_LIST: %d processes, total %u\n", n, req.total);
	for (i = 0; i < n; i++) {
		if (procs[i].pid == getpid())
			own = 1;
		if (i && procs[i].pid <= procs[i - 1].pid)
			ascending = 0;
	}
	check(n > 0 && (unsigned int)n == req.total, "TM_LIST: returns the total");
	check(n > 0 && procs[0].pid == 1 && ascending, "TM_LIST: pid 1 first, ascending");
	check(own, "TM_LIST: its own pid is listed");
	check(req.time_ns > 0, "TM_LIST: time of the walk");
}

static void test_subscribe(int fd)
{
	struct ver0_subscribe req;
	struct ver0_record rec;
	__s32 pid = getpid();
	ssize_t got;

	memset(&req, 0, sizeof(req));
	req.count = 1;
	req.period_ns = TM_STREAM_PERIOD_MIN_NS;
	req.pids = (__u64)(uintptr_t)&pid;
	check_errno(ioctl(fd, VER0_TM_SUBSCRIBE, &req), "TM_SUBSCRIBE to itself");
	check(req.record_size == sizeof(rec), "TM_SUBSCRIBE: record_size 48 written back");
	memset(&rec, 0xff, sizeof(rec));
	got = read(fd, &rec, sizeof(rec));
	if (got < 0)
		printf("# read: %s\n", strerror(errno));
	printf("# read: %zd bytes: seq %llu pid %d flags %#x lost %llu\n", got,
	       (unsigned long long)rec.seq, rec.pid, rec.flags, (unsigned long long)rec.lost);
	check(got == (ssize_t)sizeof(rec), "read(): one whole VER0 record");
	check(rec.seq == 0 && rec.pid == getpid() && rec.lost == 0 && rec.flags == 0,
	      "read(): record 0, of itself, nothing lost");
	check(rec.timestamp_ns > 0, "read(): a timestamp");
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/taskmonitor";
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		printf("Bail out! %s: %s\n", dev, strerror(errno));
		return 2;
	}
	test_stats(fd);
	test_batch(fd);
	test_list(fd);
	/* Last: a file subscribes once, and then reads records. */
	test_subscribe(fd);
	close(fd);
	printf("1..%d\n# %d of %d checks failed\n", checks, failures, checks);
	return failures ? 1 : 0;
}
