// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon-bench: Google Benchmark's own main (every --benchmark_* flag).
// The benchmarks register themselves from floor_target.cpp, stats.cpp,
// proc.cpp, taskstats.cpp, stream.cpp and population.cpp; docs/performance.md
// says what each measures and bench/README.md how scripts/bench runs them.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
