"""Measurements of threading_engine: throughput, scaling and memory per backend, each against its floor.

Run ``python -m benchmarks`` (``--quick`` for a run under a minute, ``--json PATH``, ``--plot PATH``,
``--only NAME[,NAME]``, ``--postgres-url URL``). Nothing here is a test: ``tests/`` never asserts a timing.

Sections
--------
- throughput (``scenarios.py``, ``throughput.py``): append to open threads, new threads, reopen inside the
  window, retried (DUPLICATE) publishes and a seeded mixed trace (``mixed.py``), on memory, SQLite
  (``synchronous=FULL`` and ``NORMAL``) and PostgreSQL, one command at a time and in batches of 100; the append
  scenario beside its floor (``floors.py``, ``postgres_floor.py``), the least work with the same semantics;
- scaling (``scaling.py``): cost per append with 10^3 to 10^6 threads already stored (``seed.py``);
- footprint (``footprint.py``): bytes per thread, message and idempotency record in the memory backend;
- PostgreSQL round trips per message (``roundtrips.py``) and throughput with 1, 2 and 4 processes
  (``processes.py``).

Why our own repeat loop rather than pyperf
------------------------------------------
pyperf is the well-kept harness for timing a function, and this package borrows its method: a warm-up round
that is not reported and also calibrates the round length, at least five reported rounds, the median with its
spread, and the machine's facts stored with the figures. It does not use pyperf itself, for three reasons:

1. pyperf gets its reliability from many worker processes (20 by default), each calibrating and warming up
   anew. Every worker would have to rebuild the state it measures: 10^6 seeded threads take seconds to tens of
   seconds to build, a PostgreSQL store needs a schema of its own, so the full run would take hours and
   ``--quick`` could not stay under a minute. Fewer workers would throw away what pyperf is for.
2. The workloads consume state. A closed thread reopens once, a new customer creates a thread once, and the
   mixed trace only makes sense in order, so each round needs fresh, untimed preparation. pyperf's
   ``bench_time_func`` allows that, but then the loop, the preparation and the timing are ours anyway.
3. The figures that matter are ratios taken in the same run: engine against floor, 10^6 threads against
   10^3, one process against four. Our loop interleaves an engine's rounds with its floor's, so a busy moment
   on a shared machine slows both alike; pyperf measures one benchmark at a time.

The cost of that choice: no CPU isolation or system tuning checks (``pyperf system tune``). The load average
at the start is recorded in the JSON, and the spread shows how noisy the machine was.
"""
