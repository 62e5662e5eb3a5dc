"""Shared helpers: seeded data of the same shape as the Rust benches, and a timer
that reports the median and the minimum of repeated runs."""
import statistics
import time

import numpy as np

N = 1_000_000
ROWS = 100_000
COLS = 20          # 15 numerical + 5 categorical, as in benches/drift.rs
NUM_COLS = 15


def pair(seed=7):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, N), rng.normal(0.01, 1.0, N)


def timed(name, fn, repeat=7, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1e3
    print(f"{name}: median {med:.2f} ms, min {min(times) * 1e3:.2f} ms ({repeat} runs)", flush=True)
    return med
