// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskmon-test-churn - process and thread churn for the false-positive
 * tests of find_hidden() (tests/libtaskmon/vm/test_hidden.cpp):
 *
 *   taskmon-test-churn SECONDS [PARENTS]
 *
 * PARENTS (default 4) processes each fork, for SECONDS (0: until SIGTERM),
 * children that start a thread, fork a grandchild (reparented when the
 * child exits) and exit at once.  SIGTERM (to it, or to its process group)
 * ends the churn early.  It reaps the orphaned grandchildren itself (a
 * subreaper).  Prints the number of children forked in all; exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void *nothing(void *arg)
{
	return arg;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	int parents = argc > 2 ? atoi(argv[2]) : 4;
	/* Each parent's count, shared with this process. */
	long *counts = mmap(NULL, sizeof(long) * (size_t)parents, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long total = 0;
	struct sigaction sa;
	int i;

	if (counts == MAP_FAILED)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) != 0)
		return 2;
	/*
	 * The grandchildren, orphaned at once, are reaped here rather than by
	 * whatever init the machine has: no zombies pile up in /proc.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 2;
	for (i = 0; i < parents; i++) {
		if (fork() == 0) {
			double end = now() + seconds;

			while (!stop && (seconds <= 0 || now() < end)) {
				pid_t c = fork();

				if (c == 0) {
					pthread_t t;

					if (pthread_create(&t, NULL, nothing, NULL) == 0)
						pthread_join(t, NULL);
					if (fork() == 0)
						_exit(0);
					_exit(0);
				}
				if (c > 0) {
					waitpid(c, NULL, 0);
					counts[i]++;
				}
			}
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	for (i = 0; i < parents; i++)
		total += counts[i];
	printf("%ld\n", total);
	return 0;
}
