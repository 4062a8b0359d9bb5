// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prints the host's TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC_RAW over about 200 ms.
 *
 * run-vm passes it to the guest kernel as tsc_early_khz=: under QEMU's
 * TCG, the guest's rdtsc returns the host's own cycle counter plus an
 * offset (cpu_get_ticks() adds cpu_get_host_ticks(), which is rdtsc on an
 * x86 host), so the guest's TSC runs at exactly this frequency.
 *
 * Each end of the interval is the tightest of many (rdtsc, clock, rdtsc)
 * brackets, so a preemption on a busy host widens nothing: the error is
 * the width of the best bracket (well under a microsecond) over 200 ms.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

struct sample {
	uint64_t tsc;	/* the middle of the bracket */
	uint64_t ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct sample best_sample(void)
{
	struct sample best = { 0, 0 };
	uint64_t best_width = UINT64_MAX;

	for (int i = 0; i < 200; i++) {
		uint64_t t1 = __rdtsc();
		uint64_t ns = now_ns();
		uint64_t t2 = __rdtsc();

		if (t2 - t1 < best_width) {
			best_width = t2 - t1;
			best.tsc = t1 + (t2 - t1) / 2;
			best.ns = ns;
		}
	}
	return best;
}

int main(void)
{
	struct timespec pause = { 0, 200000000 };
	struct sample start, end;

	start = best_sample();
	nanosleep(&pause, NULL);
	end = best_sample();
	if (end.ns <= start.ns || end.tsc <= start.tsc)
		return 1;
	printf("%llu\n", (unsigned long long)((end.tsc - start.tsc) * 1000000.0 /
					      (double)(end.ns - start.ns) + 0.5));
	return 0;
}
