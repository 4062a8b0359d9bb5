// SPDX-License-Identifier: GPL-2.0-only
/*
 * readdir-filter - a TEST-ONLY LD_PRELOAD library that hides processes the
 * way libprocesshider does: it wraps libc's readdir() and readdir64() and
 * skips the entries of /proc
 *
 *   - named like one of the pids in $TASKMON_TEST_HIDE_PIDS
 *     (comma-separated), or
 *   - whose process is named $TASKMON_TEST_HIDE_COMM: as libprocesshider
 *     does, it checks that the directory is /proc (readlink of
 *     /proc/self/fd/N), then opens /proc/PID/stat of each entry inside
 *     readdir() to learn the name.  A process that exited between the
 *     listing and that open leaves the open's ENOENT in errno although
 *     readdir() returns an entry: a caller that does not clear errno before
 *     each readdir() (POSIX) mistakes it for an error (issue #26).
 *
 * Only the preloaded process is fooled, and only what it reads through
 * libc: the getdents64 system call still tells the truth.
 * tests/libtaskmon/vm/test_hidden.cpp, test_cli_hidden.cpp and
 * tests/python/test_hidden_vm.py run a lister with it preloaded and expect
 * taskmon to say "readdir" lies and getdents64 does not.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int listed_pid(const char *name)
{
	const char *list = getenv("TASKMON_TEST_HIDE_PIDS");
	size_t len = strlen(name);

	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t n = end ? (size_t)(end - list) : strlen(list);

		if (n == len && n && memcmp(list, name, n) == 0)
			return 1;
		list = end ? end + 1 : NULL;
	}
	return 0;
}

/* libprocesshider's get_dir_name(): the path of @dir's descriptor. */
static int is_proc(DIR *dir)
{
	char link[64];
	char path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd(dir));
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strcmp(path, "/proc") == 0;
}

/*
 * libprocesshider's get_process_name(): fopen() of /proc/PID/stat, errno
 * left as the failure set it.
 */
static int process_name(const char *pid, char *name, size_t size)
{
	char path[64];
	char comm[64];
	FILE *f;
	int ok;

	if (strspn(pid, "0123456789") != strlen(pid) || !*pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fscanf(f, "%*d (%63[^)]", comm) == 1;
	fclose(f);
	if (ok)
		snprintf(name, size, "%s", comm);
	return ok;
}

static int hidden(DIR *dir, const char *name)
{
	const char *comm = getenv("TASKMON_TEST_HIDE_COMM");
	char seen[64];

	if (listed_pid(name))
		return 1;
	return comm && *comm && is_proc(dir) && process_name(name, seen, sizeof(seen)) &&
	       strcmp(seen, comm) == 0;
}

struct dirent *readdir(DIR *dir)
{
	static struct dirent *(*real)(DIR *);
	struct dirent *d;

	if (!real)
		real = (struct dirent *(*)(DIR *))dlsym(RTLD_NEXT, "readdir");
	do
		d = real(dir);
	while (d && hidden(dir, d->d_name));
	return d;
}

struct dirent64 *readdir64(DIR *dir)
{
	static struct dirent64 *(*real)(DIR *);
	struct dirent64 *d;

	if (!real)
		real = (struct dirent64 *(*)(DIR *))dlsym(RTLD_NEXT, "readdir64");
	do
		d = real(dir);
	while (d && hidden(dir, d->d_name));
	return d;
}
