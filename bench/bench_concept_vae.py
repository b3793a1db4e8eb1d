"""Training throughput of the concept VAE: the fastai `Learner` against a plain PyTorch loop (target: overhead <= 10%).

Both train the same small-scale `ConceptVAE` (stage 3: eq. 1 with every term) on the same `cine_sequence_dls`
batches (augmentation included), one epoch at a time, alternating so that machine load hits both alike; each side
starts from the same weights. Only the training phase is timed (fastai's validation pass is excluded).
Prints frames/s (subjects x T per second) for each and the Learner/plain ratio.
Run from the repo root: .venv/bin/python bench/bench_concept_vae.py
"""
import copy, time
import numpy as np
import torch
from fastai.callback.core import Callback
from interpret_vae.core import set_seed
from interpret_vae.data.cardiac import simulate_cohort
from interpret_vae.data.cardiac_loaders import cine_sequence_dls
from interpret_vae.models.concept_vae import make_model, concept_vae_learner, ConceptVAELoss, CONCEPT_VAE_CONFIGS
import sys; sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
from _record import record

N_SUBJECTS, REPEATS = 48, 3
cfg = CONCEPT_VAE_CONFIGS['small']

class TrainTimer(Callback):
    "Seconds spent in the training phase of the last epoch."
    def before_train(self): self.t = time.perf_counter()
    def after_train(self): self.seconds = time.perf_counter() - self.t

def plain_epoch(model, dl, opt, loss_func):
    "One epoch of a hand-written loop over the same DataLoader: forward, eq. 1, backward, Adam step."
    model.train()
    t = time.perf_counter()
    for x, y in dl:
        loss = loss_func(model(x), x, y)
        opt.zero_grad(); loss.backward(); opt.step()
    return time.perf_counter() - t

if __name__ == '__main__':
    set_seed(0)
    cohort = simulate_cohort(N_SUBJECTS, seed=0, size=cfg['size'], n_frames=cfg['n_frames'], images=False)
    dls = cine_sequence_dls(cohort, targets=('crt_response', 'septal_flash'), valid_pct=0.1, bs=cfg['bs'], seed=0)
    model = make_model('concept', 'small')
    plain_model = copy.deepcopy(model).to(dls.device)
    timer = TrainTimer()
    learn = concept_vae_learner(dls, model, stage=3, cbs=[timer])
    opt = torch.optim.Adam(plain_model.parameters(), lr=cfg['lr'], weight_decay=0.)
    loss_func = ConceptVAELoss(0.2, 1.0, (0.9,))
    frames = len(dls.train) * cfg['bs'] * cfg['n_frames']   # drop_last: every batch is full
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cfg['lr']); plain_epoch(plain_model, dls.train, opt, loss_func)   # warm-up
        fastai_s, plain_s = [], []
        for _ in range(REPEATS):
            learn.fit(1, cfg['lr']); fastai_s.append(timer.seconds)
            plain_s.append(plain_epoch(plain_model, dls.train, opt, loss_func))
    f, p = np.median(fastai_s), np.median(plain_s)
    print(f"concept VAE, small scale ({cfg['size']}x{cfg['size']}, T={cfg['n_frames']}, latent {cfg['latent']}), "
          f"{frames} frames per epoch, median of {REPEATS} epochs, device {dls.device}, {torch.get_num_threads()} threads")
    print(f"fastai Learner : {frames / f:8.1f} frames/s  ({f:.2f} s/epoch)")
    print(f"plain PyTorch  : {frames / p:8.1f} frames/s  ({p:.2f} s/epoch)")
    print(f"Learner / plain time ratio: {f / p:.3f}  (overhead {100 * (f / p - 1):+.1f}%; target <= +10%)")
    record('concept_vae_training', device=str(dls.device), threads=torch.get_num_threads(), frames_per_epoch=frames,
           learner_frames_per_s=round(frames / f, 1), plain_frames_per_s=round(frames / p, 1),
           learner_over_plain_time=round(f / p, 3), target_overhead_pct=10)
