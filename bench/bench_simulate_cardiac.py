"""Speed of the cardiac cohort simulator: 1,000 subjects at 80x80, 3 slices, 25 frames (target: <= 60 s on 2 cores).

Prints subjects/s for the full render (segmentations + bSSFP images), for segmentations only and for labels only,
and the speed-up of the vectorised polar renderer over rendering the same subjects one frame at a time.
Run from the repo root: .venv/bin/python bench/bench_simulate_cardiac.py
"""
import time
import numpy as np
from interpret_vae.data.cardiac import simulate_cohort, simulate_labels, _boundaries, _polar, _normalised_phase, _SEG_OF_LEVEL

N, CHUNK = 1000, 250   # chunks keep memory at ~0.6 GB; every subject is rendered exactly once

def timed(f):
    "Wall-clock seconds, CPU seconds of this process, and the result of `f()`."
    t, c = time.perf_counter(), time.process_time(); out = f()
    return time.perf_counter() - t, time.process_time() - c, out

def chunked(**kw):
    "Wall and CPU seconds to simulate N subjects in chunks of CHUNK."
    runs = [timed(lambda k=k: simulate_cohort(CHUNK, seed=k, **kw))[:2] for k in range(N // CHUNK)]
    return tuple(np.sum(runs, 0))

def per_frame_segs(labels, size=80, n_slices=3, n_frames=25):
    "Reference: the same anatomy rendered frame by frame over the whole image (no vectorisation over time or band)."
    out = np.empty((len(labels), n_slices, n_frames, size, size), np.uint8)
    for i, f in enumerate(labels.to_dict('records')):
        phase = _normalised_phase(n_frames, f['es_fraction'])
        for s in range(n_slices):
            r, b = _polar((size, size), ((size - 1) / 2, (size - 1) / 2), 100 / size, np.deg2rad(f['rotation_deg']))
            for t in range(n_frames):
                tables, _ = _boundaries(f, s, phase[t:t + 1])
                level = sum((r < tab[0][b]).astype(np.uint8) for tab in tables)
                out[i, s, t] = _SEG_OF_LEVEL[level]
    return out

if __name__ == '__main__':
    simulate_cohort(4)   # warm-up: imports, caches
    full, segs = chunked(), chunked(images=False)
    labels_only = timed(lambda: simulate_labels(N, seed=0))[:2]
    n_ref = 20
    labels = simulate_labels(n_ref, seed=0)
    ref = timed(lambda: per_frame_segs(labels))[:2]
    vec = timed(lambda: simulate_cohort(n_ref, seed=0, images=False))[:2]
    row = lambda name, t: print(f"{name:46s} wall {t[0]:7.2f} s ({N / t[0]:7.1f} subjects/s)   cpu {t[1]:7.2f} s")
    row(f"simulate_cohort({N}) 80x80x3x25, images + segs", full)
    row("  segmentations only (images=False)", segs)
    row("  labels only (simulate_labels)", labels_only)
    print(f"target: <= 60 s wall for images + segs on 2 cores -> {'met' if full[0] <= 60 else 'NOT met'}")
    print(f"vectorised vs per-frame rendering ({n_ref} subjects, segs): {ref[0] / vec[0]:.1f}x faster wall, "
          f"{ref[1] / vec[1]:.1f}x cpu ({n_ref / vec[0]:.1f} vs {n_ref / ref[0]:.1f} subjects/s)")
    import sys; sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
    from _record import record
    record('simulate_cardiac', subjects_per_s=round(N / full[0], 1), seconds_for_1000_subjects=round(full[0], 1),
           vectorised_vs_per_frame=round(ref[0] / vec[0], 1))
