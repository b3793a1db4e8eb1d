"""Training-step time of the medium-scale concept VAE with `ReconstructFrames(5)` against decoding every frame.

The CRT experiment's `medium` scale (64x64 px, 25 frames, 3 slices, latent 32) decodes 5 random frames of 25 per
training batch. Both sides run the same model, batch and loss (eq. 1, stage 3) on one thread, alternating step by
step so that machine load hits both alike. Prints seconds per step for each and their ratio.
Run from the repo root: .venv/bin/python bench/bench_reconstruct_frames.py
"""
import time
import numpy as np
import torch
from interpret_vae.core import set_seed
from interpret_vae.experiments.crt import crt_config
from interpret_vae.models.concept_vae import ConceptVAELoss, crt_model
import sys; sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
from _record import record

STEPS = 5

if __name__ == '__main__':
    torch.set_num_threads(1)
    set_seed(0)
    cfg = crt_config('medium')
    model, loss_func = crt_model('concept', cfg).train(), ConceptVAELoss(0.2, 1.0, (0.9,))
    T, n = cfg['n_frames'], cfg['recon_frames']
    x = torch.randint(0, 4, (cfg['bs'], cfg['n_slices'], T, cfg['size'], cfg['size']))
    y = torch.randint(0, 2, (cfg['bs'], 2)).float()
    def step(frames):
        t = time.perf_counter()
        loss = loss_func(model(x, frames), x if frames is None else x[:, :, frames], y)
        model.zero_grad(); loss.backward()
        return time.perf_counter() - t
    step(None); step(torch.arange(n))   # warm-up
    every, sampled = [], []
    for _ in range(STEPS):
        every.append(step(None))
        sampled.append(step(torch.randperm(T)[:n].sort().values))
    e, s = np.median(every), np.median(sampled)
    print(f"concept VAE, medium scale ({cfg['size']}x{cfg['size']}, T={T}, bs {cfg['bs']}), median of {STEPS} steps, 1 thread")
    print(f"every frame decoded : {e:.2f} s/step")
    print(f"{n} of {T} frames      : {s:.2f} s/step")
    print(f"every / sampled time ratio: {e / s:.2f}")
    record('reconstruct_frames', device='cpu', threads=1, frames=T, recon_frames=n, every_frame_s=round(e, 3),
           sampled_s=round(s, 3), every_over_sampled_time=round(e / s, 2))
