"""TorchRay's `extremal_perturbation` beside the package's batched `meaningful_perturbation`, both objectives, every fill, in one run.

Data: `simulate_lesion_set` brain slices; a classifier (a small CNN, or DenseNet121 with `--model densenet121`) is trained
quickly on the training subjects, and the first `--n-images` held-out lesion images are explained by:
- TorchRay 1.0.0.2 `extremal_perturbation`, one image per call (as TorchRay works), `--iterations` steps (its default 800),
  area 5 %, preserve variant, its smooth mask generator (step 7 and sigma 21 at 224 px, scaled with the image size), with
  each of its two perturbations: `blur` (a blur pyramid up to sigma 20 px) and `fade` (towards 0);
- the package's `meaningful_perturbation`, all images in one batched call, for each parametrisation
  (`l1_tv`: Fong & Vedaldi 2017, the package default; `area`: Fong et al. 2019, area 5 %, control points and Gaussian as
  TorchRay's; its default class score, the target's logit as TorchRay's reward, and `area_softmax`, the same with the softmax
  probability that 'area' read before) and each fill: `BlurFill(20)` (one blur at TorchRay's maximum), `BlurFill(20, levels=8)` (TorchRay's own
  8-level blur pyramid, where the mask value picks the blur), `BlurFill(5)`, `ConstantFill(0)` (what TorchRay's fade reaches)
  and the subject's own healthy slice (an ideal healthy VAE; TorchRay cannot take a custom fill). TorchRay's blur is compared
  with both blur-20 fills, its fade with the constant 0;
- `area_tuned`: the package's 'area' with its class score, learning rate, area weight and iterations chosen per fill
  (`TUNING_GRID`) on another seed's classifier and held-out images (`--tune-seed`, default 1), then run once on the test
  set (seed 0): the comparison fixed before seeing the test images. The best of the other rows is picked after seeing them.
Reported per (method, parametrisation, fill): seconds per image, the mean ROC AUC of the maps against the exact lesion masks
counting brain pixels only (`lesion_set_tissue`), with a 95 % bootstrap interval over images, and for the fills TorchRay
also has, the paired AUC difference to TorchRay with its interval and the speed-up. Results: bench/results/torchray.json
(or the folder in IVAE_BENCH_RESULTS).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_torchray.py           # 64 px, 24 images, small CNN, one thread
    .venv/bin/python bench/bench_torchray.py --device cuda --size 224 --model densenet121 --n-images 32 --name torchray_paper
    .venv/bin/python bench/bench_torchray.py --dry-run                   # tiny sizes, a few iterations: the code path only
"""
import argparse, copy, itertools, os, sys, time
from pathlib import Path
import numpy as np
import torch
from fastai.losses import LabelSmoothingCrossEntropyFlat
from interpret_vae.core import default_device, set_seed
from interpret_vae.data.lesion import simulate_lesion_set, lesion_set_tissue
from interpret_vae.models.classifier import SmallCNN, densenet121_classifier, classifier_learner
from interpret_vae.explain import meaningful_perturbation, BlurFill, ConstantFill
from interpret_vae.evaluate import explanation_auc
try: from interpret_vae.data.core import classification_dls  # the data modules are being split; either home works
except ImportError: from interpret_vae.data.lesion import classification_dls
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record

TORCHRAY_MAX_BLUR = 20.  # px: the top of TorchRay's blur pyramid (`Perturbation(max_blur=20)`, fixed in `extremal_perturbation`)
AREA = 0.05              # kept area of TorchRay and of the package's 'area' objective
MODELS = dict(small_cnn=lambda: SmallCNN(1, 2), densenet121=lambda: densenet121_classifier(1, 2))
TORCHRAY_FILL = dict(blur='blur 20, 8 levels', fade='constant 0')  # TorchRay's perturbation -> the package's fill that is the same
COMPARED = {'blur 20': 'blur', 'blur 20, 8 levels': 'blur', 'constant 0': 'fade'}  # package fill -> the TorchRay perturbation it is compared with
# 'area' settings tried on the tuning seed (`--tune-seed`); the chosen ones give the 'area_tuned' rows on the test seed
# (a dict value sets several options together: the package's area-weight schedule, and TorchRay's: 300 growing 16-fold over 800 steps)
TUNING_GRID = dict(score=['logit', 'softmax'], lr=[0.03, 0.1], start=[0.5, 1.], n_iter=[100, 200],
                   schedule=[dict(area_weight=300., area_ramp=1e3), dict(area_weight=4900., area_ramp=16.)])


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
        out.append(float(np.ravel(auc)[0]))
    return np.array(out)


def boot_ci(v, n_boot=2000, seed=0):
    "Mean of `v` over images and its 95% bootstrap interval."
    v = np.asarray(v)[np.isfinite(v)]
    boots = np.random.default_rng(seed).choice(v, (n_boot, len(v))).mean(1)
    return float(v.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


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


def torchray_maps(model, x, perturbation, iterations, device):
    "TorchRay's extremal perturbation, one image per call; (N,H,W) masks at the image's resolution and seconds per image."
    from torchray.attribution.extremal_perturbation import extremal_perturbation, BLUR_PERTURBATION, FADE_PERTURBATION
    kind = dict(blur=BLUR_PERTURBATION, fade=FADE_PERTURBATION)[perturbation]
    step = max(1, round(7 * x.shape[-1] / 224)); sigma = 3. * step  # TorchRay's 7 / 21 at 224 px, scaled
    model = copy.deepcopy(model)  # extremal_perturbation switches the parameters' gradients off and leaves them so
    maps, times = [], []
    for i in range(len(x)):
        (m, _), s = timed(lambda: extremal_perturbation(model, x[i:i + 1], 1, areas=[AREA], perturbation=kind,
                                                        max_iter=iterations, step=step, sigma=sigma, resize=True), device)
        maps.append(m[0, 0].detach().float().cpu()); times.append(s)
    return torch.stack(maps), float(np.mean(times)), dict(step=step, sigma=sigma)


def held_out_set(size, n_images, model_name, n_healthy, epochs, lr, bs, seed, dev):
    "A classifier trained on the subjects of a simulated set and `n_images` of its held-out lesion images to explain: a dict."
    t0 = time.perf_counter()
    data = dict(size=size, seed=seed, radius=(0.06, 0.15), contrast=(0.5, 1.0))
    les = simulate_lesion_set(n_healthy, **data)
    brain = lesion_set_tissue(n_healthy, size=size, seed=seed)
    model, valid, acc = train_classifier(les, model_name, epochs, lr, bs, dev, seed)
    sick = valid[les.labels[valid] == 1][:n_images]
    if len(sick) < n_images: raise SystemExit(f"only {len(sick)} held-out lesion images, asked for {n_images}: raise --n-healthy")
    base = {p: i for i, p in enumerate(les.patient) if les.labels[i] == 0}  # each subject's healthy slice: an ideal healthy VAE's output
    print(f"seed {seed}: classifier validation accuracy {acc:.3f}; data and training {time.perf_counter() - t0:.0f}s", flush=True)
    return dict(model=model, acc=acc, data=data, x=torch.from_numpy(les.images[sick]).to(dev), masks=les.masks[sick], brain=brain[sick],
                healthy=torch.from_numpy(les.images[[base[p] for p in les.patient[sick]]]).to(dev))


def grid_settings(grid):
    "Every combination of `grid`'s values as keyword arguments (a dict value contributes its own keys)."
    for values in itertools.product(*grid.values()):
        kw = {}
        for k, v in zip(grid, values): kw.update(v if isinstance(v, dict) else {k: v})
        yield kw


def tune_area(s, fills, area_kw, grid):
    "Per fill, the 'area' settings of `grid` with the best mean in-brain AUC on the held-out set `s` (another seed than the test set's)."
    chosen = {}
    for fill_name, fill in fills.items():
        scores = []
        for kw in grid_settings(grid):
            m = meaningful_perturbation(s['model'], s['x'], 1, fill, batch_size=len(s['x']), progress=False, **dict(area_kw, **kw))
            scores.append((float(np.nanmean(in_brain_auc(m, s['masks'], s['brain']))), kw))
        auc, best = max(scores, key=lambda t: t[0])
        chosen[fill_name] = dict(best, tuning_auc=round(auc, 4))
        print(f"tuned on seed {s['data']['seed']} ({len(scores)} settings): {fill_name:18s} {best} (AUC {auc:.3f})", flush=True)
    return chosen


def main(size=64, n_images=24, device=None, iterations=800, model_name='small_cnn', n_healthy=None, epochs=None, lr=None,
         bs=32, seed=0, name='torchray', l1_tv_iterations=300, area_iterations=100, tune_seed=1, tune_images=12, tuning_grid=TUNING_GRID, dry_run=False):
    dev = default_device(device)
    n_healthy = n_healthy or max(60, 4 * n_images)  # ~25% held out, 4 lesion images per subject: enough lesion images to explain
    epochs = epochs or (12 if model_name == 'small_cnn' else 10)
    lr = lr or (1e-2 if model_name == 'small_cnn' else 1e-3)
    print(f"device={dev} threads={torch.get_num_threads()} size={size} images={n_images} torchray_iterations={iterations} "
          f"model={model_name} subjects={n_healthy} epochs={epochs}" + (' (dry run)' if dry_run else ''), flush=True)
    t0 = time.perf_counter()
    setup = dict(size=size, n_images=n_images, model_name=model_name, n_healthy=n_healthy, epochs=epochs, lr=lr, bs=bs, dev=dev)
    test = held_out_set(seed=seed, **setup)
    model, acc, data, x, masks, brain, healthy = (test[k] for k in ('model', 'acc', 'data', 'x', 'masks', 'brain', 'healthy'))

    step = max(1, round(7 * size / 224))
    fills = {'blur 20': BlurFill(TORCHRAY_MAX_BLUR), 'blur 20, 8 levels': BlurFill(TORCHRAY_MAX_BLUR, levels=8),  # one blur; TorchRay's pyramid
             'blur 5': BlurFill(5.), 'constant 0': ConstantFill(0), 'healthy slice': healthy}
    area_kw = dict(objective='area', area=AREA, n_iter=area_iterations, mask_scale=step, mask_sigma=3. * step)
    settings = {'l1_tv': dict(objective='l1_tv', n_iter=l1_tv_iterations),  # the package's defaults otherwise (early stopping)
                'area': dict(area_kw, score='logit'),  # the default score of 'area' since 0.3: the target's logit, TorchRay's reward
                'area_softmax': dict(area_kw, score='softmax')}  # the score 'area' read before: the softmax probability
    tuned = {}
    if tune_seed is not None:  # settings chosen on another seed's classifier and images, then used once on the test set
        if tune_seed == seed: raise SystemExit(f"--tune-seed {tune_seed}: must differ from the test seed {seed}")
        tuned = tune_area(held_out_set(seed=tune_seed, **dict(setup, n_images=tune_images)), {f: fills[f] for f in COMPARED}, area_kw, tuning_grid)
    meaningful_perturbation(model, x[:1], 1, fills['blur 5'], n_iter=2, progress=False)  # warm-up (kernels, allocator) outside the timings
    rows, maps = [], {}
    runs = [(par, fill_name, kw) for par, kw in settings.items() for fill_name in fills]
    runs += [('area_tuned', fill_name, dict(area_kw, **{k: v for k, v in t.items() if not k.startswith('tuning_')})) for fill_name, t in tuned.items()]
    for par, fill_name, kw in runs:
        m, s = timed(lambda: meaningful_perturbation(model, x, 1, fills[fill_name], batch_size=len(x), progress=False, **kw), dev)
        maps[('package', par, fill_name)] = m
        rows.append(dict(method='package', parametrisation=par, fill=fill_name, seconds_per_image=s / len(x)))
        print(f"package {par:12s} {fill_name:18s} {s / len(x):7.3f} s/image", flush=True)
    ray_settings = {}
    for pert, fill_name in TORCHRAY_FILL.items():
        m, s, ray_settings = torchray_maps(model, x, pert, iterations, dev)
        maps[('torchray', 'area', fill_name)] = m
        rows.append(dict(method='torchray', parametrisation='area', fill=fill_name, torchray_perturbation=pert, seconds_per_image=s))
        print(f"torchray {pert} ({fill_name}) {s:7.3f} s/image", flush=True)

    auc = {k: in_brain_auc(m, masks, brain) for k, m in maps.items()}
    for r in rows:
        k = (r['method'], r['parametrisation'], r['fill'])
        mean, lo, hi = boot_ci(auc[k]); r.update(auc=round(mean, 4), auc_ci95=[round(lo, 4), round(hi, 4)])
        ray = ('torchray', 'area', TORCHRAY_FILL.get(COMPARED.get(r['fill'])))
        if r['method'] == 'package' and ray in auc:
            d, dlo, dhi = boot_ci(auc[k] - auc[ray])
            ray_s = next(q['seconds_per_image'] for q in rows if q['method'] == 'torchray' and q['fill'] == ray[2])
            r['compared_with'] = f"torchray {COMPARED[r['fill']]}"
            r.update(auc_minus_torchray=round(d, 4), auc_minus_torchray_ci95=[round(dlo, 4), round(dhi, 4)],
                     speedup_over_torchray=round(ray_s / r['seconds_per_image'], 1),
                     # the target: >= 10x faster at a mean AUC at least TorchRay's; and whether the CI rules out "worse"
                     target_met=bool(ray_s / r['seconds_per_image'] >= 10 and d >= 0), not_worse_beyond_ci=bool(dhi >= 0))
        r['seconds_per_image'] = round(r['seconds_per_image'], 4)
    best = {f: max((r for r in rows if r['method'] == 'package' and r['fill'] == f and r['parametrisation'] in settings),
                key=lambda r: r['auc'])['parametrisation'] for f in fills}  # among the fixed settings: 'area_tuned' is reported beside them

    print(f"\nin-brain lesion ROC AUC over {len(x)} held-out images (mean [95% bootstrap CI over images]), seconds per image:")
    print(f"{'method':9s} {'param':12s} {'fill':18s} {'AUC':>7s} {'95% CI':>17s} {'s/image':>9s} {'AUC - TorchRay [CI]':>28s} {'speed-up':>9s}")
    for r in rows:
        diff = f"{r['auc_minus_torchray']:+.3f} [{r['auc_minus_torchray_ci95'][0]:+.3f}, {r['auc_minus_torchray_ci95'][1]:+.3f}]" if 'auc_minus_torchray' in r else ''
        sp = f"{r['speedup_over_torchray']:.1f}x" if 'speedup_over_torchray' in r else ''
        print(f"{r['method']:9s} {r['parametrisation']:12s} {r['fill']:18s} {r['auc']:7.3f} [{r['auc_ci95'][0]:.3f}, {r['auc_ci95'][1]:.3f}] "
              f"{r['seconds_per_image']:9.3f} {diff:>28s} {sp:>9s}")
    print("best parametrisation per fill (package, by mean AUC): " + ', '.join(f"{f}: {p}" for f, p in best.items()))
    print("target (>= 10x faster than TorchRay with the same fill, AUC >= TorchRay's): " + ', '.join(
        f"{r['parametrisation']}/{r['fill']}: {'met' if r['target_met'] else 'not met'}" for r in rows if 'target_met' in r))
    print(f"total {time.perf_counter() - t0:.0f}s")
    return record(name, device=str(dev), threads=torch.get_num_threads(), dry_run=dry_run, size=size, images=len(x),
                  model=model_name, classifier_valid_accuracy=round(acc, 4),
                  settings=dict(torchray=dict(iterations=iterations, area=AREA, variant='preserve', max_blur=TORCHRAY_MAX_BLUR, **ray_settings),
                                package={k: dict(v, lr='default', patience='default (l1_tv only)') for k, v in settings.items()},
                                torchray_fill_matched_by=TORCHRAY_FILL, compared=COMPARED, data=dict(n_healthy=n_healthy, **data),
                                tuning=dict(seed=tune_seed, images=tune_images, grid=tuning_grid, chosen=tuned) if tuned else None),
                  rows=rows, best_parametrisation_per_fill=best, total_seconds=round(time.perf_counter() - t0, 1))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', type=int, default=64, help='image size in pixels (a multiple of 16)')
    p.add_argument('--n-images', type=int, default=24, help='held-out lesion images explained by every method')
    p.add_argument('--device', default=None, help="cpu, cuda, cuda:N; default: the package's default device")
    p.add_argument('--iterations', type=int, default=800, help="TorchRay's max_iter (its default 800)")
    p.add_argument('--l1-tv-iterations', type=int, default=300, help="the package's n_iter for 'l1_tv' (early stopping on)")
    p.add_argument('--area-iterations', type=int, default=100, help="the package's n_iter for 'area' (runs them all)")
    p.add_argument('--model', default='small_cnn', choices=sorted(MODELS), help='the classifier explained')
    p.add_argument('--n-healthy', type=int, default=None, help='simulated subjects (default: enough for --n-images)')
    p.add_argument('--epochs', type=int, default=None, help='classifier epochs (default 12 small CNN, 10 DenseNet121)')
    p.add_argument('--tune-seed', type=int, default=1, help="seed of the set on which the 'area_tuned' settings are chosen (not the test seed 0)")
    p.add_argument('--no-tune', action='store_true', help="skip the tuning and the 'area_tuned' rows")
    p.add_argument('--name', default='torchray', help='results file name (bench/results/NAME.json)')
    p.add_argument('--dry-run', action='store_true', help='tiny sizes and few iterations, results in a temporary folder: the code path only')
    a = p.parse_args()
    if a.dry_run:  # a dry run must never overwrite the measured results that the README shows
        import tempfile
        os.environ.setdefault('IVAE_BENCH_RESULTS', tempfile.mkdtemp(prefix='ivae_dry_'))
        main(size=32, n_images=2, device=a.device or 'cpu', iterations=3, model_name=a.model, n_healthy=12, epochs=1,
             name=a.name, l1_tv_iterations=3, area_iterations=3, tune_images=2, tuning_grid=dict(score=['logit', 'softmax'], n_iter=[3], schedule=[dict(area_weight=300., area_ramp=16.)]), dry_run=True)
    else:
        main(a.size, a.n_images, a.device, a.iterations, a.model, a.n_healthy, a.epochs, name=a.name,
             l1_tv_iterations=a.l1_tv_iterations, area_iterations=a.area_iterations, tune_seed=None if a.no_tune else a.tune_seed)
