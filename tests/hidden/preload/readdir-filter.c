// SPDX-License-Identifier: GPL-2.0-only
/*
 * readdir-filter - a TEST-ONLY LD_PRELOAD library that hides processes the
 * way libprocesshider does: it wraps libc's readdir() and readdir64() and
 * skips the entries named like one of the pids in $TASKMON_TEST_HIDE_PIDS
 * (comma-separated).  Only the preloaded process is fooled, and only what
 * it reads through libc: the getdents64 system call still tells the truth.
 * tests/libtaskmon/vm/test_hidden.cpp runs a lister with it preloaded and
 * expects taskmon to say "readdir" lies and getdents64 does not.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static int hidden(const char *name)
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

struct dirent *readdir(DIR *dir)
{
	static struct dirent *(*real)(DIR *);
	struct dirent *d;

	if (!real)
		real = (struct dirent *(*)(DIR *))dlsym(RTLD_NEXT, "readdir");
	do
		d = real(dir);
	while (d && hidden(d->d_name));
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
	while (d && hidden(d->d_name));
	return d;
}
