"""Paper-scale training cost on this machine, the projected wall time of each paper experiment, and the mixed-precision check.

1. Seconds per epoch of the three networks the papers train longest, each trained by the package's own Learner on data
   simulated by the package at the paper's size: the segmentation U-Net (`UNET_CONFIGS['paper']`, 80 px frames), the
   concept VAE (stage 3 of eq. 1; 80 px, 25 frames, latent 128) and the healthy VAE (224 px). Each is timed over the
   second of two short epochs (the first warms up cuDNN and the allocator), split into training and validation time
   per item, and scaled to the item counts of the paper configurations (`crt_config('paper')`,
   `experiment_settings('paper')`). Multiplying by the configured epochs gives a PROJECTED wall time of each
   paper-scale experiment: a projection from measured per-item costs, not a measured run (assumptions in the JSON).
2. fastai mixed precision: the U-Net trained for a few steps from the same weights on the same batches with fp16 on
   and off; fp16 must be active on CUDA (half-precision outputs) and each step's loss within `--fp16-rtol` of fp32's.

    .venv/bin/python bench/gpu_training.py --device cuda     # results: bench/results/gpu_training.json
    .venv/bin/python bench/gpu_training.py --dry-run         # tiny sizes on CPU, results in a temporary folder
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from interpret_vae.core import default_device, set_seed
from interpret_vae.data.cardiac import simulate_cohort
from interpret_vae.data.cardiac_loaders import cine_sequence_dls, frame_pair_dls
from interpret_vae.data.lesion import healthy_slices
from interpret_vae.models.unet import unet_learner, UNET_CONFIGS
from interpret_vae.models.vae import HealthyVAE, healthy_dls, healthy_vae_learner, HEALTHY_VAE_CONFIGS
from interpret_vae.models.concept_vae import make_model, concept_vae_learner, CONCEPT_VAE_CONFIGS
from interpret_vae.experiments.crt import crt_config
from interpret_vae.experiments.explain import experiment_settings
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record


class PhaseTimer(Callback):
    "Seconds and items of the training and validation phases of the last epoch (CUDA synchronised)."
    order = 100
    def _sync(self):
        if torch.cuda.is_available(): torch.cuda.synchronize()
    def before_train(self): self._sync(); self.t = time.perf_counter()
    def after_train(self): self._sync(); self.train_s, self.train_n = time.perf_counter() - self.t, self.n_iter * self.dls.train.bs
    def before_validate(self): self._sync(); self.t = time.perf_counter()
    def after_validate(self): self._sync(); self.valid_s, self.valid_n = time.perf_counter() - self.t, len(self.dls.valid.dataset)


def seconds_per_item(learn) -> dict:
    "Training and validation seconds per item of `learn`, from the second of two epochs."
    timer = PhaseTimer()
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-4, cbs=[timer])
    return dict(train=timer.train_s / timer.train_n, valid=timer.valid_s / max(timer.valid_n, 1),
                items_timed=timer.train_n, batch=learn.dls.train.bs, fp16=hasattr(learn, 'mixed_precision'))


def epoch_seconds(cost: dict, n_items: int, valid_frac: float) -> float:
    "Projected seconds of one epoch over `n_items` items of which `valid_frac` are validation."
    return n_items * ((1 - valid_frac) * cost['train'] + valid_frac * cost['valid'])


def unet_cost(scale, n_subjects, device):
    cohort = simulate_cohort(n_subjects, seed=0, size=CONCEPT_VAE_CONFIGS[scale]['size'], n_frames=CONCEPT_VAE_CONFIGS[scale]['n_frames'], crt=False)
    dls = frame_pair_dls(cohort, bs=UNET_CONFIGS[scale]['bs'], seed=0, device=device)
    return seconds_per_item(unet_learner(dls, scale=scale))


def concept_vae_cost(scale, n_subjects, device):
    cfg = CONCEPT_VAE_CONFIGS[scale]
    cohort = simulate_cohort(n_subjects, seed=0, size=cfg['size'], n_frames=cfg['n_frames'], images=False)
    model = make_model('concept', scale)
    dls = cine_sequence_dls(cohort, targets=model.targets, bs=cfg['bs'], seed=0, device=device)
    return seconds_per_item(concept_vae_learner(dls, model, stage=3))


def healthy_vae_cost(scale, size, n_images, device):
    cfg = HEALTHY_VAE_CONFIGS[scale]
    dls = healthy_dls(healthy_slices(n_images, size=size, seed=0), valid_pct=0.25, bs=cfg['bs'], seed=0, device=device)
    return seconds_per_item(healthy_vae_learner(dls, HealthyVAE(size=size, latent=cfg['latent'], widths=cfg['widths'])))


def projections(cost: dict) -> dict:
    "Projected hours of each paper-scale experiment from the measured per-item costs, with the counts used."
    c, s = crt_config('paper'), experiment_settings('paper')
    ep, frames = c['epochs'], c['n_slices']
    unet = ep['unet'] * epoch_seconds(cost['unet'], c['n_unet'] * frames * c['unet_frames'], 0.2)
    finetune = ep['finetune'] * epoch_seconds(cost['unet'], c['n_finetune'] * frames * c['finetune_frames'], 0.2)
    pretrain = ep['pretrain'] * epoch_seconds(cost['concept_vae'], c['n_pretrain'], 0.1)
    fold_epochs = (ep['crt'] + ep['primary'] + ep['concepts']) + (ep['crt'] + ep['primary']) + ep['baseline']  # concept, vae_crt, baseline
    n_folds = c['k'] * c.get('repeats', 1)
    folds = n_folds * fold_epochs * epoch_seconds(cost['concept_vae'], round(c['n_subjects'] * (c['k'] - 1) / c['k']), 0.2)
    vae = s['vae_epochs'] * epoch_seconds(cost['healthy_vae'], s['n_vae'], 0.05)
    h = lambda sec: round(sec / 3600, 2)
    return dict(
        seconds_per_paper_epoch=dict(
            unet=round(epoch_seconds(cost['unet'], c['n_unet'] * frames * c['unet_frames'], 0.2), 1),
            concept_vae_crt_fold=round(epoch_seconds(cost['concept_vae'], round(c['n_subjects'] * (c['k'] - 1) / c['k']), 0.2), 2),
            concept_vae_pretrain=round(epoch_seconds(cost['concept_vae'], c['n_pretrain'], 0.1), 1),
            healthy_vae=round(epoch_seconds(cost['healthy_vae'], s['n_vae'], 0.05), 1)),
        crt_experiment_hours=h(unet + finetune + pretrain + folds),
        crt_parts_hours=dict(unet=h(unet), unet_finetune=h(finetune), pretrain=h(pretrain), folds=h(folds)),
        explain_healthy_vae_hours=h(vae),
        assumptions=[
            'per-item training and validation costs measured over one short epoch each, scaled linearly to the configured item counts',
            f"U-Net: {c['n_unet']} subjects x {frames} slices x {c['unet_frames']} frames, {ep['unet']} epochs, then fine-tuning "
            f"{c['n_finetune']} subjects x {frames} x {c['finetune_frames']} frames, {ep['finetune']} epochs; 20% validation",
            f"pretraining: {c['n_pretrain']} subjects at the concept VAE's per-subject cost, {ep['pretrain']} epochs (an upper bound "
            'when pretraining sees fewer frames or no heads)',
            f"folds: {n_folds} (k x repeats) x the concept, VAE+CRT and baseline schedules ({fold_epochs} epochs in all) on "
            f"{c['k'] - 1}/{c['k']} of {c['n_subjects']} subjects, every model at the concept VAE's cost (stage 3, an upper bound)",
            f"healthy VAE: {s['n_vae']} images at {s['size']} px, {s['vae_epochs']} epochs, per VAE trained (the lesion and OCT "
            'experiments train one each)',
            'classifier training, explanation maps and data simulation are not included'])


class LossLog(Callback):
    "Training losses and the prediction dtype of every batch."
    def before_fit(self): self.losses, self.dtypes = [], set()
    def after_loss(self):
        if self.training:
            self.losses.append(float(self.loss.detach())); p = self.pred[0] if isinstance(self.pred, tuple) else self.pred
            self.dtypes.add(str(p.dtype))


def fp16_check(scale, n_subjects, steps, rtol, device):
    "U-Net losses over `steps` identical batches with fp16 on and off; within `rtol` of each other, fp16 active on CUDA."
    cfg = UNET_CONFIGS[scale]
    cohort = simulate_cohort(n_subjects, seed=1, size=CONCEPT_VAE_CONFIGS[scale]['size'], n_frames=CONCEPT_VAE_CONFIGS[scale]['n_frames'], crt=False)
    logs = {}
    for fp16 in (False, True):
        dls = frame_pair_dls(cohort, bs=cfg['bs'], seed=0, augment=False, device=device)
        dls.train.shuffle = False
        dls.train.n = steps * cfg['bs']  # the first `steps` batches, the same in both runs
        learn = unet_learner(dls, scale=scale, fp16=fp16, seed=0)
        log = LossLog()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, cfg['lr'], cbs=[log])
        logs[fp16] = log
    l32, l16 = np.array(logs[False].losses), np.array(logs[True].losses)
    rel = np.abs(l16 - l32) / np.abs(l32)
    active = 'torch.float16' in logs[True].dtypes
    cuda = torch.device(device).type == 'cuda'
    return dict(steps=len(l32), losses_fp32=l32.round(5).tolist(), losses_fp16=l16.round(5).tolist(),
                max_rel_diff=round(float(rel.max()), 5), rtol=rtol, fp16_active=active,
                passed=bool(rel.max() <= rtol and (active or not cuda)))


def main(device=None, dry_run=False, fp16_rtol=0.02):
    dev = default_device(device)
    # dry run: the small configurations and a few subjects; the measurement: the paper's sizes, enough batches to time
    scale, n_seq, n_img, vae_size = ('small', 6, 96, 32) if dry_run else ('paper', 48, 256, 224)
    print(f"device={dev} scale={scale}" + (' (dry run)' if dry_run else ''))
    t0 = time.perf_counter()
    cost = dict(unet=unet_cost(scale, n_seq // 2, dev), concept_vae=concept_vae_cost(scale, n_seq, dev),
                healthy_vae=healthy_vae_cost(scale, vae_size, n_img, dev))
    for k, v in cost.items(): print(f"{k}: {1e3 * v['train']:.2f} ms per training item, {1e3 * v['valid']:.2f} ms per validation item (fp16 {v['fp16']})")
    proj = projections(cost)
    print(f"PROJECTED paper-scale wall time: CRT experiment {proj['crt_experiment_hours']} h {proj['crt_parts_hours']}; "
          f"one healthy VAE {proj['explain_healthy_vae_hours']} h")
    amp = fp16_check(scale, 4, 3 if dry_run else 5, fp16_rtol, dev)
    print(f"mixed precision: fp16 active {amp['fp16_active']}, max relative loss difference {amp['max_rel_diff']} over "
          f"{amp['steps']} steps (tolerance {fp16_rtol}): {'passed' if amp['passed'] else 'FAILED'}")
    print(f"total {time.perf_counter() - t0:.0f}s")
    record('gpu_training', device=str(dev), dry_run=dry_run, scale=scale,
           seconds_per_item={k: {kk: (round(vv, 6) if isinstance(vv, float) else vv) for kk, vv in v.items()} for k, v in cost.items()},
           projection=proj, mixed_precision=amp)
    if not amp['passed']: sys.exit('mixed-precision check FAILED')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default=None, help="cpu, cuda, cuda:N; default: the package's default device")
    p.add_argument('--fp16-rtol', type=float, default=0.02, help='largest relative difference of an fp16 step loss from fp32')
    p.add_argument('--dry-run', action='store_true', help='tiny sizes on CPU, results in a temporary folder: the code path only')
    a = p.parse_args()
    if a.dry_run: os.environ.setdefault('IVAE_BENCH_RESULTS', tempfile.mkdtemp(prefix='ivae_dry_'))
    main(a.device or ('cpu' if a.dry_run else None), a.dry_run, a.fp16_rtol)
