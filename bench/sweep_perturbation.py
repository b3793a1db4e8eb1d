"""Which perturbation settings are best? The VAE-fill `meaningful_perturbation` swept on the `cpu_full` benchmark's own models.

The explanation benchmark (`run_explain_benchmark('cpu_full', seed=0)`) runs its masks at n_iter=60, mask_scale=4, temperature=5,
while `meaningful_perturbation`'s defaults were n_iter=300, mask_scale=1, temperature=1 (`explain_images` and `ivae explain`:
temperature 5). This script measures which is better, without peeking:
- it rebuilds the benchmark's data, folds and models from `benchmark_settings('cpu_full')` and seed 0, loading the trained
  classifiers (`models/benchmark_fold{k}.pth`) and healthy VAE (`models/benchmark_vae.pth`) from the benchmark's work folder
  (`--work`, default runs/explain_benchmark); it refuses to train (a checkpoint that changes is an error);
- per fold it explains a fixed, seeded subset (`--n-per-fold`) of the lesioned test images the fold's classifier calls lesioned,
  with the VAE reconstruction as the fill (the benchmark's 'VAE' method), 'l1_tv' objective, lr 0.3, patience 20;
- every setting of `GRID` runs on the SELECTION folds 0 and 1; the best mean in-brain lesion AUC (`localisation_auc` inside the
  tissue mask, the benchmark's `auc_tissue`) is chosen there, and a setting within `TIE` of the best that is cheaper wins the tie:
  cheaper counts the images the classifier runs on (each image's iterations until early stopping, summed), deterministic where
  the seconds per image (also reported) move with the load of a shared machine; among equally cheap settings (within `COST_TIE`)
  the one that changes fewest of a function's current defaults wins, so `meaningful_perturbation` (temperature 1) and
  `explain_images` / `ivae explain` (temperature 5) each get a chosen setting, which may be the same;
- on the CONFIRMATION folds 2 and 3 (other subjects, other classifiers) only the chosen settings, the previous defaults and the
  benchmark's setting run, and the paired differences chosen - other carry 95 % bootstrap CIs by subject.
Grad-CAM and guided backprop on the same images are reference rows.  Results: bench/results/perturbation_sweep.json.

    nice -n 5 env OMP_NUM_THREADS=1 .venv/bin/python bench/sweep_perturbation.py     # ~15 min on 2 loaded cores
    .venv/bin/python bench/sweep_perturbation.py --dry-run                            # 2 images per fold, 3 iterations: the code path only
"""
import argparse, itertools, os, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
from torch import nn
from sklearn.model_selection import StratifiedGroupKFold
from interpret_vae.core import set_seed
from interpret_vae.explain import meaningful_perturbation, explain_images, VAEFill
from interpret_vae.explain_metrics import localisation_auc
from interpret_vae.evaluate import bootstrap_ci
from interpret_vae.experiments.explain_settings import benchmark_settings
from interpret_vae.experiments.explain import _benchmark_data, _benchmark_folders, _benchmark_vae, _fit_classifier, _predict
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import record

SCALE, SEED = 'cpu_full', 0
GRID = dict(n_iter=(60, 150, 300), mask_scale=(1, 2, 4), temperature=(1., 5.))
PREVIOUS = {'meaningful_perturbation': dict(n_iter=300, mask_scale=1, temperature=1.),   # the defaults before this sweep
            'explain_images, ivae explain': dict(n_iter=300, mask_scale=1, temperature=5.)}
SELECT_FOLDS, CONFIRM_FOLDS = (0, 1), (2, 3)
TIE = 0.005        # mean AUCs closer than this count as equal: the cheaper setting wins
COST_TIE = 0.02    # classifier passes per image closer than this fraction count as equal: the setting nearer the function's defaults wins


def key(kw): return f"n_iter={kw['n_iter']} mask_scale={kw['mask_scale']} temperature={kw['temperature']:g}"


def checkpoints(work):
    "Modification time of every model file in `work`: loading must leave them all as they were."
    return {p.name: p.stat().st_mtime_ns for p in sorted((Path(work)/'models').glob('*'))}


def load_benchmark(work, log):
    "The cpu_full seed-0 data, tissue, folds, healthy VAE and fold classifiers, loaded from `work` (an error if anything trains)."
    s = benchmark_settings(SCALE)
    if not any((Path(work)/'models').glob('benchmark_fold*.pth')):   # checked first: `_benchmark_folders` would start a new work folder
        raise SystemExit(f"--work: no benchmark_fold*.pth in {work}/models; run `make reproduce-explain` (cpu_full, seed 0) first")
    _, work = _benchmark_folders(s, tempfile.mkdtemp(), work, SEED, 1)   # refuses a work folder of other settings
    before = checkpoints(work)
    set_seed(SEED)
    data, tissue, *_ = _benchmark_data(s, SEED)
    timing = {}
    vae = _benchmark_vae(s, SEED, work, timing, log)
    splits = list(StratifiedGroupKFold(s['k'], shuffle=True, random_state=SEED).split(data.labels, data.labels, data.patient))
    models = []
    for fold, (tr, te) in enumerate(splits):
        set_seed(SEED + fold)
        model, ran = _fit_classifier(data.images[tr], data.labels[tr], data.patient[tr], s, s['epochs'], work, f'benchmark_fold{fold}',
                                     False, SEED + fold, False)
        if ran: raise SystemExit(f"fold {fold}: the classifier trained {ran} epochs; the benchmark's finished checkpoint is missing in {work}")
        models.append(model)
    if checkpoints(work) != before: raise SystemExit(f"{work}: a checkpoint changed while loading, so something trained")
    return s, data, tissue, vae, splits, models


def pick_images(data, model, te, fold, n):
    "`n` of the fold's lesioned test images that its classifier calls lesioned (P >= 0.5), drawn with a seed fixed per fold."
    lesioned = te[data.labels[te] == 1]
    called = lesioned[_predict(model, data.images[lesioned]) >= 0.5]
    if len(called) < n: raise SystemExit(f"fold {fold}: only {len(called)} correctly classified lesioned images, asked for {n}")
    return np.sort(np.random.default_rng([SEED, fold]).choice(called, n, replace=False))


class Counting(nn.Module):
    "The classifier, counting the images it is run on: the optimisation's cost, independent of the machine's load."
    def __init__(self, model): super().__init__(); self.model, self.seen = model, 0
    def forward(self, x): self.seen += len(x); return self.model(x)


def run_setting(model, x, vae, kw, batch_size):
    "VAE-fill maps of `x` with the perturbation settings `kw` (the benchmark's other settings), the seconds and the classifier passes they took."
    counted, t = Counting(model), time.perf_counter()
    m = meaningful_perturbation(counted, x, 1, VAEFill(vae), batch_size=batch_size, progress=False, **kw)
    return m.numpy(), time.perf_counter() - t, counted.seen


def mean_ci(v, groups, n_boot):
    ci = bootstrap_ci(np.mean, v, groups=groups, n_boot=n_boot, seed=SEED)
    return dict(auc=round(ci['estimate'], 4), auc_ci95=[round(ci['lo'], 4), round(ci['hi'], 4)])


def paired(a, b, groups, n_boot):
    "Mean of a - b and its 95 % bootstrap interval, resampling subjects."
    ci = bootstrap_ci(lambda u, v: np.mean(u - v), a, b, groups=groups, n_boot=n_boot, seed=SEED)
    return dict(diff=round(ci['estimate'], 4), diff_ci95=[round(ci['lo'], 4), round(ci['hi'], 4)])


def explain_folds(folds, settings, ctx, log):
    "For every fold in `folds` and every setting: per-image in-brain AUCs, and seconds; also Grad-CAM and guided backprop."
    data, tissue, vae, models, images, bs = (ctx[k] for k in ('data', 'tissue', 'vae', 'models', 'images', 'batch_size'))
    auc, secs, passes = {}, {}, {}
    for fold in folds:
        sel, model = images[fold], models[fold]
        x, masks, brain = data.images[sel], data.masks[sel], tissue[sel]
        meaningful_perturbation(model, x[:1], 1, VAEFill(vae), n_iter=2, progress=False)   # warm-up outside the timings
        for name, kw in settings.items():
            maps, t, seen = run_setting(model, x, vae, kw, bs)
            auc.setdefault(name, []).append(localisation_auc(maps, masks, tissue=brain))
            secs.setdefault(name, []).append(t); passes.setdefault(name, []).append(seen)
            log(f"fold {fold} {name:38s} AUC {np.mean(auc[name][-1]):.3f}  {t / len(sel):6.2f} s/image  {seen / len(sel):6.1f} passes/image")
        t = time.perf_counter()
        ref = explain_images(model, x, 1, methods=['GC', 'BP'], batch_size=bs, progress=False)
        for m, v in ref.items(): auc.setdefault(m, []).append(localisation_auc(v, masks, tissue=brain))
        for m in ref: secs.setdefault(m, []).append((time.perf_counter() - t) / len(ref))
    n = sum(len(images[f]) for f in folds)
    return {k: np.concatenate(v) for k, v in auc.items()}, {k: sum(v) / n for k, v in secs.items()}, {k: sum(v) / n for k, v in passes.items()}


def fold_means(v, folds, images):
    "Mean AUC per fold of per-image values `v` laid out fold after fold: where folds disagree, a choice may not carry over."
    return {str(f): round(float(np.mean(part)), 4) for f, part in zip(folds, np.split(v, np.cumsum([len(images[f]) for f in folds])[:-1]))}


def choose(rows, current):
    """For a function whose defaults are `current`: among the settings within `TIE` of the best mean AUC the cheapest (fewest classifier
    passes per image); among equally cheap ones (within `COST_TIE`) the one that changes fewest of `current`'s values, then the higher AUC."""
    best = max(r['auc'] for r in rows)
    near = [r for r in rows if r['auc'] >= best - TIE]
    low = min(r['passes_per_image'] for r in near)
    cheapest = [r for r in near if r['passes_per_image'] <= low * (1 + COST_TIE)]
    return min(cheapest, key=lambda r: (sum(r[k] != v for k, v in current.items()), -r['auc']))


def table(rows, title):
    print(f"\n{title}\n{'setting':40s} {'AUC':>6s} {'95% CI (by subject)':>20s} {'s/image':>8s} {'passes/image':>13s}  per fold")
    for r in rows: print(f"{r['setting']:40s} {r['auc']:6.3f} [{r['auc_ci95'][0]:.3f}, {r['auc_ci95'][1]:.3f}] {r['seconds_per_image']:8.2f} "
                         f"{r.get('passes_per_image', float('nan')):13.1f}  " + ' '.join(f'{v:.3f}' for v in r['auc_per_fold'].values()))


def main(work, n_per_fold=32, grid=GRID, n_boot=2000, dry_run=False):
    t0 = time.perf_counter()
    log = lambda *a: print(f'[{time.perf_counter() - t0:6.0f} s]', *a, flush=True)
    s, data, tissue, vae, splits, models = load_benchmark(work, log)
    load_s = time.perf_counter() - t0
    log(f"benchmark data and models loaded, nothing trained ({load_s:.0f} s)")
    images = {f: pick_images(data, models[f], te, f, n_per_fold) for f, (_, te) in enumerate(splits)}
    ctx = dict(data=data, tissue=tissue, vae=vae, models=models, images=images, batch_size=s['batch_size'])
    benchmark = {'benchmark (cpu_full)': {k: s[k] for k in ('n_iter', 'mask_scale', 'temperature')}}
    if dry_run: benchmark, previous = ({k: dict(v, n_iter=grid['n_iter'][-1]) for k, v in d.items()} for d in (benchmark, PREVIOUS))
    else: previous = PREVIOUS
    settings = {key(dict(zip(grid, v))): dict(zip(grid, v)) for v in itertools.product(*grid.values())}
    missing = [n for n, kw in {**previous, **benchmark}.items() if key(kw) not in settings]
    if missing: raise SystemExit(f"the grid must hold the previous defaults and the benchmark's setting; it lacks {missing}")

    # selection: the whole grid on folds 0 and 1, a setting chosen for each function from its own current defaults
    sel_groups = data.patient[np.concatenate([images[f] for f in SELECT_FOLDS])]
    auc, secs, passes = explain_folds(SELECT_FOLDS, settings, ctx, log)
    grid_rows = [dict(setting=k, **settings.get(k, {}), **mean_ci(auc[k], sel_groups, n_boot), seconds_per_image=round(secs[k], 3),
                      **({'passes_per_image': round(passes[k], 1)} if k in passes else {}), auc_per_fold=fold_means(auc[k], SELECT_FOLDS, images),
                      kind='perturbation' if k in settings else 'reference')
                 for k in auc]
    table(grid_rows, f"SELECTION folds {SELECT_FOLDS}: in-brain lesion AUC of {len(sel_groups)} images ({len(set(sel_groups))} subjects)")
    chosen = {fn: choose([r for r in grid_rows if r['kind'] == 'perturbation'], cur) for fn, cur in previous.items()}
    for fn, r in chosen.items(): log(f"chosen for {fn} on folds {SELECT_FOLDS}: {r['setting']} (AUC {r['auc']:.3f}, {r['passes_per_image']:.1f} passes/image)")

    # confirmation: the chosen settings, the previous defaults and the benchmark's setting on folds 2 and 3
    conf_settings = {key(kw): kw for kw in [*(settings[r['setting']] for r in chosen.values()), *previous.values(), *benchmark.values()]}
    conf_groups = data.patient[np.concatenate([images[f] for f in CONFIRM_FOLDS])]
    cauc, csecs, cpasses = explain_folds(CONFIRM_FOLDS, conf_settings, ctx, log)
    conf_rows = [dict(setting=k, **conf_settings.get(k, {}), **mean_ci(cauc[k], conf_groups, n_boot), seconds_per_image=round(csecs[k], 3),
                      **({'passes_per_image': round(cpasses[k], 1)} if k in cpasses else {}), auc_per_fold=fold_means(cauc[k], CONFIRM_FOLDS, images),
                      kind='perturbation' if k in conf_settings else 'reference') for k in cauc]
    table(conf_rows, f"CONFIRMATION folds {CONFIRM_FOLDS}: {len(conf_groups)} images ({len(set(conf_groups))} subjects)")
    # per function: chosen - previous default, - benchmark, - Grad-CAM, - guided backprop, paired by image, CIs by subject; and the verdict:
    # better beyond the CI, or a tie (CI spans 0) at a lower cost, or neither
    comparisons = {}
    for fn, r in chosen.items():
        c, prev = cauc[r['setting']], key(previous[fn])
        others = {'previous default': prev, **{n: key(kw) for n, kw in benchmark.items()}, 'Grad-CAM': 'GC', 'guided backprop': 'BP'}
        diffs = {n: dict(setting=k, **paired(c, cauc[k], conf_groups, n_boot)) for n, k in others.items() if k != r['setting']}
        d, cheaper = diffs.get('previous default'), cpasses[r['setting']] < cpasses[prev]
        verdict = ('unchanged' if d is None else 'better' if d['diff_ci95'][0] > 0 else 'tie, cheaper' if d['diff_ci95'][1] >= 0 and cheaper
                   else 'worse' if d['diff_ci95'][1] < 0 else 'tie, not cheaper')
        comparisons[fn] = dict(chosen=r['setting'], previous=prev, chosen_minus=diffs, verdict=verdict)
        print(f"\n{fn}: chosen {r['setting']} against its previous default {prev}: {verdict}")
        for n, v in diffs.items(): print(f"   chosen - {n:22s} {v['diff']:+.4f} [{v['diff_ci95'][0]:+.4f}, {v['diff_ci95'][1]:+.4f}]")
    total = time.perf_counter() - t0
    print(f"total {total:.0f} s")
    per_image = dict(selection={k: np.round(v, 5).tolist() for k, v in auc.items()}, confirmation={k: np.round(v, 5).tolist() for k, v in cauc.items()})
    return record('perturbation_sweep', dry_run=dry_run, scale=SCALE, seed=SEED, threads=torch.get_num_threads(), work=str(work),
                  fixed=dict(objective='l1_tv', lr=0.3, patience=20, fill='VAEFill(benchmark_vae)', batch_size=s['batch_size'], target=1),
                  grid={k: list(v) for k, v in grid.items()}, tie=TIE, cost_tie=COST_TIE, selection_folds=list(SELECT_FOLDS), confirmation_folds=list(CONFIRM_FOLDS),
                  images={str(f): dict(image=v.tolist(), patient=data.patient[v].tolist()) for f, v in images.items()},
                  previous_defaults={fn: key(kw) for fn, kw in previous.items()}, benchmark={n: key(kw) for n, kw in benchmark.items()},
                  selection=grid_rows, chosen={fn: r['setting'] for fn, r in chosen.items()}, confirmation=conf_rows, comparisons=comparisons,
                  per_image_auc=per_image, seconds=dict(loading=round(load_s, 1), total=round(total, 1)))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work', default=str(Path(__file__).resolve().parent.parent/'runs'/'explain_benchmark'),
                   help="the cpu_full seed-0 benchmark's work folder (its models/ hold the trained classifiers and VAE)")
    p.add_argument('--n-per-fold', type=int, default=32, help='images explained per fold')
    p.add_argument('--dry-run', action='store_true', help='2 images per fold, a grid of 3 iterations, results in a temporary folder')
    a = p.parse_args()
    if a.dry_run:   # never overwrites the measured results
        os.environ.setdefault('IVAE_BENCH_RESULTS', tempfile.mkdtemp(prefix='ivae_dry_'))
        main(a.work, 2, grid=dict(n_iter=(3,), mask_scale=(1, 4), temperature=(1., 5.)), n_boot=50, dry_run=True)
    else:
        main(a.work, a.n_per_fold)
