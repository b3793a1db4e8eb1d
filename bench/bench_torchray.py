"""TorchRay's `extremal_perturbation` beside the package's batched `meaningful_perturbation`, in one process, on held-out lesions.

Data: `simulate_lesion_set` brain slices; a classifier (a small CNN, or DenseNet121 with `--model densenet121`) is trained
quickly on the training subjects, and the first `--n-images` held-out lesion images are explained three ways with the same
blur and the same iteration budget (`--iterations`):
- TorchRay 1.0.0.2 `extremal_perturbation`, one image per call (as TorchRay works): blur perturbation, area 5%, its smooth
  mask generator (step 7 and sigma 21 at 224 px, scaled with the image size), preserve variant;
- the package's `meaningful_perturbation` with `BlurFill`, all images in one batched call;
- the same function called on one image at a time (the pure batching ratio).
TorchRay's blur pyramid reaches sigma 20 px at any image size, so `BlurFill(20)` is the package's fill by default
(`--blur-sigma` changes only the package's; at 64 px 20 px blurs the whole brain away, a handicap for deletion maps). Reported: seconds per image of each,
the ratios, and the ROC AUC of each map against the exact lesion mask, counting brain pixels only (`lesion_set_tissue`),
with the paired difference and its 95% bootstrap interval over images. Results: bench/results/torchray.json (or the
folder in IVAE_BENCH_RESULTS).

    .venv/bin/python bench/bench_torchray.py                                   # 64 px, 16 images, small CNN, 800 iterations
    .venv/bin/python bench/bench_torchray.py --device cuda --size 224 --model densenet121 --name torchray_paper
    .venv/bin/python bench/bench_torchray.py --dry-run                         # tiny sizes, a few iterations: the code path only
"""
import argparse, copy, math, os, sys, time
from pathlib import Path
import numpy as np
import torch
from fastai.losses import LabelSmoothingCrossEntropyFlat
from interpret_vae.core import default_device, set_seed
from interpret_vae.data.lesion import simulate_lesion_set, lesion_set_tissue, classification_dls
from interpret_vae.models.classifier import SmallCNN, densenet121_classifier, classifier_learner
from interpret_vae.explain import meaningful_perturbation, BlurFill
from interpret_vae.evaluate import explanation_auc
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record

TORCHRAY_MAX_BLUR = 20.  # px: the top of TorchRay's blur pyramid (`Perturbation(max_blur=20)`, fixed in `extremal_perturbation`)
AREA = 0.05              # TorchRay's preserved area
MODELS = dict(small_cnn=lambda: SmallCNN(1, 2), densenet121=lambda: densenet121_classifier(1, 2))


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def timed(f, device):
    "f() and the seconds it took (the device synchronised on both sides)."
    sync(device); t = time.perf_counter(); out = f(); sync(device)
    return out, time.perf_counter() - t


def in_brain_auc(maps, masks, brain) -> np.ndarray:
    "ROC AUC per image of `maps` against `masks`, over the pixels inside `brain` only (a map is not rewarded for the background)."
    out = []
    for m, t, b in zip(np.asarray(maps, np.float64), masks, brain):
        auc = explanation_auc(m[b][None, None], t[b][None, None].astype(np.uint8))
        out.append(float(np.ravel(auc[0] if isinstance(auc, tuple) else auc)[0]))  # (auc, skipped) or auc, as the API settles
    return np.array(out)


def paired_ci(a, b, n_boot=2000, seed=0):
    "Mean of a-b over images and its 95% bootstrap interval."
    d = np.asarray(a) - np.asarray(b); d = d[np.isfinite(d)]
    boots = np.random.default_rng(seed).choice(d, (n_boot, len(d))).mean(1)
    return float(d.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def train_classifier(les, model_name, epochs, lr, bs, device, seed):
    "A quickly trained classifier on the training subjects of `les`; the model in eval mode, held-out indices, validation accuracy."
    set_seed(seed)
    dls = classification_dls(les.images, les.labels, groups=les.patient, bs=bs, seed=seed, augment=False, device=device)
    # label smoothing keeps the lesion probability off 1.0: a saturated softmax has no gradient and leaves masks empty
    learn = classifier_learner(dls, MODELS[model_name](), loss_func=LabelSmoothingCrossEntropyFlat(eps=0.1))
    with learn.no_bar(), learn.no_logging():
        learn.fit(epochs, lr)
        acc = float(learn.validate()[1])
    return learn.model.float().to(device).eval(), np.asarray(dls.valid.dataset.items), acc


def torchray_maps(model, x, iterations, device):
    "TorchRay's extremal perturbation, one image per call; (N,H,W) masks at the image's resolution and seconds per image."
    from torchray.attribution.extremal_perturbation import extremal_perturbation, BLUR_PERTURBATION
    step = max(1, round(7 * x.shape[-1] / 224)); sigma = 3. * step  # TorchRay's 7 / 21 at 224 px, scaled
    model = copy.deepcopy(model)  # extremal_perturbation switches the parameters' gradients off and leaves them so
    maps, times = [], []
    for i in range(len(x)):
        (m, _), s = timed(lambda: extremal_perturbation(model, x[i:i + 1], 1, areas=[AREA], perturbation=BLUR_PERTURBATION,
                                                        max_iter=iterations, step=step, sigma=sigma, resize=True), device)
        maps.append(m[0, 0].detach().float().cpu()); times.append(s)
    return torch.stack(maps), times, dict(step=step, sigma=sigma)


def main(size=64, n_images=16, device=None, iterations=800, model_name='small_cnn', n_healthy=None, epochs=None, lr=None,
         bs=32, seed=0, name='torchray', blur_sigma=TORCHRAY_MAX_BLUR, dry_run=False):
    dev = default_device(device)
    n_healthy = n_healthy or max(60, 4 * n_images)  # ~25% held out, 4 lesion images per subject: enough lesion images to explain
    epochs = epochs or (12 if model_name == 'small_cnn' else 10)
    lr = lr or (1e-2 if model_name == 'small_cnn' else 1e-3)
    print(f"device={dev} threads={torch.get_num_threads()} size={size} images={n_images} iterations={iterations} "
          f"model={model_name} subjects={n_healthy} epochs={epochs}" + (' (dry run)' if dry_run else ''))
    t0 = time.perf_counter()
    data = dict(size=size, seed=seed, radius=(0.06, 0.15), contrast=(0.5, 1.0))
    les = simulate_lesion_set(n_healthy, **data)
    brain = lesion_set_tissue(n_healthy, size=size, seed=seed)
    model, valid, acc = train_classifier(les, model_name, epochs, lr, bs, dev, seed)
    sick = valid[les.labels[valid] == 1][:n_images]
    if len(sick) < n_images: raise SystemExit(f"only {len(sick)} held-out lesion images, asked for {n_images}: raise --n-healthy")
    x, masks, brain = torch.from_numpy(les.images[sick]).to(dev), les.masks[sick], brain[sick]
    print(f"classifier validation accuracy {acc:.3f}; data and training {time.perf_counter() - t0:.0f}s")

    fill = BlurFill(blur_sigma)
    kw = dict(n_iter=iterations, progress=False)
    meaningful_perturbation(model, x[:1], 1, fill, **dict(kw, n_iter=2))  # warm-up (kernels, allocator) outside the timings
    batched, t_batched = timed(lambda: meaningful_perturbation(model, x, 1, fill, batch_size=len(x), **kw), dev)
    loop = [timed(lambda: meaningful_perturbation(model, x[i:i + 1], 1, fill, **kw), dev) for i in range(len(x))]
    looped, t_loop = torch.cat([m for m, _ in loop]), [s for _, s in loop]
    ray, t_ray, ray_settings = torchray_maps(model, x, iterations, dev)

    s_batched, s_loop, s_ray = t_batched / len(x), float(np.median(t_loop)), float(np.median(t_ray))
    auc = {k: in_brain_auc(m, masks, brain) for k, m in dict(batched=batched, loop=looped, torchray=ray).items()}
    d, lo, hi = paired_ci(auc['batched'], auc['torchray'])
    print(f"\nseconds per image (median over images for the one-image calls) and mean in-brain lesion AUC over {len(x)} images:")
    print(f"TorchRay extremal_perturbation, one image per call: {s_ray:8.3f} s   AUC {np.nanmean(auc['torchray']):.4f}")
    print(f"meaningful_perturbation, batched:                   {s_batched:8.3f} s   AUC {np.nanmean(auc['batched']):.4f}")
    print(f"meaningful_perturbation, one image per call:        {s_loop:8.3f} s   AUC {np.nanmean(auc['loop']):.4f}")
    print(f"batched speed-up over TorchRay: {s_ray / s_batched:.1f}x; over the package's own per-image loop: {s_loop / s_batched:.1f}x")
    print(f"AUC batched minus TorchRay: {d:+.4f}, 95% bootstrap interval over images [{lo:+.4f}, {hi:+.4f}]")
    print(f"total {time.perf_counter() - t0:.0f}s")
    return record(name, device=str(dev), threads=torch.get_num_threads(), dry_run=dry_run, size=size, images=len(x),
                  iterations=iterations, model=model_name, classifier_valid_accuracy=round(acc, 4),
                  settings=dict(blur_sigma=blur_sigma, torchray_max_blur=TORCHRAY_MAX_BLUR, torchray_area=AREA, torchray_variant='preserve', **ray_settings,
                                package_early_stopping='the function default (patience)', data=dict(n_healthy=n_healthy, **data)),
                  seconds_per_image=dict(torchray=round(s_ray, 4), batched=round(s_batched, 4), per_image_loop=round(s_loop, 4)),
                  speedup_batched_over_torchray=round(s_ray / s_batched, 2), speedup_batched_over_loop=round(s_loop / s_batched, 2),
                  auc_in_brain={k: round(float(np.nanmean(v)), 4) for k, v in auc.items()},
                  auc_batched_minus_torchray=round(d, 4), auc_diff_ci95=[round(lo, 4), round(hi, 4)])


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=64, help='image size in pixels (a multiple of 16)')
    p.add_argument('--n-images', type=int, default=16, help='held-out lesion images explained by every method')
    p.add_argument('--device', default=None, help="cpu, cuda, cuda:N; default: the package's default device")
    p.add_argument('--iterations', type=int, default=800, help='optimisation steps of both methods (TorchRay: max_iter; package: n_iter)')
    p.add_argument('--model', default='small_cnn', choices=sorted(MODELS), help='the classifier explained')
    p.add_argument('--n-healthy', type=int, default=None, help='simulated subjects (default: enough for --n-images)')
    p.add_argument('--epochs', type=int, default=None, help='classifier epochs (default 12 small CNN, 10 DenseNet121)')
    p.add_argument('--blur-sigma', type=float, default=TORCHRAY_MAX_BLUR, help="the package's BlurFill sigma (default: TorchRay's maximum blur)")
    p.add_argument('--name', default='torchray', help='results file name (bench/results/NAME.json)')
    p.add_argument('--dry-run', action='store_true', help='tiny sizes and few iterations, results in a temporary folder: the code path only')
    a = p.parse_args()
    if a.dry_run:  # a dry run must never overwrite the measured results that the README shows
        import tempfile
        os.environ.setdefault('IVAE_BENCH_RESULTS', tempfile.mkdtemp(prefix='ivae_dry_'))
        main(size=32, n_images=2, device=a.device or 'cpu', iterations=3, model_name=a.model, n_healthy=12, epochs=1,
             name=a.name, dry_run=True)
    else:
        main(a.size, a.n_images, a.device, a.iterations, a.model, a.n_healthy, a.epochs, name=a.name, blur_sigma=a.blur_sigma)
