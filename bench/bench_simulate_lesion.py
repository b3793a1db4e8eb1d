"""How fast the brain lesion set and healthy slices are drawn on 2 CPU threads.

Target (issue 4): 1,000 lesion images at 128x128 in <= 30 s on 2 cores. Run from the repo root:
    .venv/bin/python bench/bench_simulate_lesion.py
"""
import time
import torch
from interpret_vae.data.lesion import healthy_slices, simulate_lesion_set, mni152_volumes
from interpret_vae.data.oct import simulate_oct_set

torch.set_num_threads(2)

def timed(f):
    "Wall and CPU seconds (all threads) of `f()`: on a shared machine wall time is inflated, CPU time is not."
    t, c = time.perf_counter(), time.process_time(); f()
    return time.perf_counter() - t, time.process_time() - c

load, cpu = timed(lambda: (mni152_volumes(), healthy_slices(1, size=128), healthy_slices(1, size=64)))  # once per process
print(f"template load and pooling (once): {load:.2f} s (cpu {cpu:.2f} s)")

n_healthy, per = 250, 4
t_set, cpu = timed(lambda: simulate_lesion_set(n_healthy, lesions_per_image=per, size=128, seed=0))
n_les = n_healthy * per
print(f"simulate_lesion_set({n_healthy}, lesions_per_image={per}, size=128): {n_les} lesion + {n_healthy} healthy images "
      f"in {t_set:.2f} s (cpu {cpu:.2f} s) -> {n_les / t_set:.0f} lesion images/s; target 30 s, ratio target/measured = {30 / t_set:.1f}x")

for size in (64, 128):
    t, cpu = timed(lambda: healthy_slices(2000, size=size, seed=0))
    print(f"healthy_slices(2000, size={size}): {t:.2f} s (cpu {cpu:.2f} s) -> {2000 / t:.0f} images/s")

t_oct, cpu = timed(lambda: simulate_oct_set(1000, size=128, seed=0))
print(f"simulate_oct_set(1000, size=128): {t_oct:.2f} s (cpu {cpu:.2f} s) -> {1000 / t_oct:.0f} images/s")

import sys; sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
from _record import record
record('simulate_lesion', lesion_images_per_s=round(n_les / t_set, 1), seconds_for_1000_lesion_images=round(t_set, 2),
       oct_images_per_s=round(1000 / t_oct, 1))
