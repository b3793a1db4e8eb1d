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
    t = time.perf_counter(); out = f(); return time.perf_counter() - t, out

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
    t_full = sum(timed(lambda k=k: simulate_cohort(CHUNK, seed=k))[0] for k in range(N // CHUNK))
    t_segs = sum(timed(lambda k=k: simulate_cohort(CHUNK, seed=k, images=False))[0] for k in range(N // CHUNK))
    t_labels, _ = timed(lambda: simulate_labels(N, seed=0))
    n_ref = 20
    labels = simulate_labels(n_ref, seed=0)
    t_ref, _ = timed(lambda: per_frame_segs(labels))
    t_vec, _ = timed(lambda: simulate_cohort(n_ref, seed=0, images=False))
    print(f"simulate_cohort({N}) 80x80x3x25, images + segs: {t_full:6.1f} s  {N / t_full:8.1f} subjects/s  (target <= 60 s)")
    print(f"segmentations only:                          {t_segs:6.1f} s  {N / t_segs:8.1f} subjects/s")
    print(f"labels only (simulate_labels):               {t_labels:6.3f} s  {N / t_labels:8.0f} subjects/s")
    print(f"vectorised vs per-frame rendering ({n_ref} subjects, segs): {t_ref / t_vec:.1f}x faster "
          f"({n_ref / t_vec:.1f} vs {n_ref / t_ref:.1f} subjects/s)")
