"""The GPU figures as one markdown summary, read from the results files of `tools/gpu_check.sh` (what the README shows).

    .venv/bin/python bench/gpu_summary.py [RESULTS_DIR]     # prints the summary; --write also saves RESULTS_DIR/gpu_summary.md
"""
import json, sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/'results'
FILES = ('torchray_paper', 'gpu_training', 'gpu_accelerate')  # what gpu_check.sh writes; each one is optional
NOT_MEASURED = 'Not yet measured on a GPU: `bench/results/` holds no results of `tools/gpu_check.sh` yet.'


def _load(folder: Path, name: str):
    p = folder/f'{name}.json'
    if not p.exists(): return None
    r = json.loads(p.read_text())
    return None if r['figures'].get('dry_run') and folder == RESULTS else r  # a dry run's numbers never stand as measurements


def _machine(r) -> str:
    m = r['machine']
    return f"{m['device']}, torch {m['torch']}, measured {r['measured']}"


def summary_markdown(folder: Path = RESULTS) -> str:
    "Markdown of every GPU result in `folder`, or the plain statement that none has been measured."
    res = {n: _load(Path(folder), n) for n in FILES}
    if not any(res.values()): return NOT_MEASURED
    out = []
    if r := res['torchray_paper']:
        f = r['figures']
        ci = lambda v, c: f"{v:.3f} [{c[0]:.3f}, {c[1]:.3f}]"
        out += [f"**Explanations at paper size** ({f['model']}, {f['size']} px, {f['images']} held-out lesion images; {_machine(r)}):", '',
                '| implementation | objective | fill | seconds per image | in-brain lesion AUC [95% CI] | AUC - TorchRay [95% CI] | speed-up |',
                '|---|---|---|---|---|---|---|']
        for w in f['rows']:
            d = ci(w['auc_minus_torchray'], w['auc_minus_torchray_ci95']) if 'auc_minus_torchray' in w else ''
            sp = f"{w['speedup_over_torchray']:.0f}x" if 'speedup_over_torchray' in w else ''
            out.append(f"| {w['method']} | {w['parametrisation']} | {w['fill']} | {w['seconds_per_image']:.3f} | {ci(w['auc'], w['auc_ci95'])} | {d} | {sp} |")
        out.append('')
    if r := res['gpu_training']:
        f = r['figures']; e = f['projection']['seconds_per_paper_epoch']; p = f['projection']; amp = f['mixed_precision']
        out += [f"**Training at paper scale** ({_machine(r)}): seconds per epoch U-Net {e['unet']}, concept VAE "
                f"{e['concept_vae_crt_fold']} per CRT fold epoch and {e['concept_vae_pretrain']} per pretraining epoch, "
                f"healthy VAE (224 px) {e['healthy_vae']}.", '',
                f"PROJECTED (from those per-item costs, not a measured run): the paper-scale CRT experiment "
                f"{p['crt_experiment_hours']} h ({', '.join(f'{k} {v} h' for k, v in p['crt_parts_hours'].items())}), "
                f"one paper-scale healthy VAE {p['explain_healthy_vae_hours']} h.", '',
                f"**Mixed precision**: fp16 {'active' if amp['fp16_active'] else 'NOT active'}; step losses within "
                f"{amp['max_rel_diff']:.2%} of fp32 over {amp['steps']} steps (tolerance {amp['rtol']:.0%}): "
                f"{'passed' if amp['passed'] else 'FAILED'}.", '']
    if r := res['gpu_accelerate']:
        f = r['figures']
        out += [f"**`accelerate launch`**, {f['processes']} process(es) ({f['backend']}): one epoch matches the single-process "
                f"run to {f['max_abs_weight_diff']:.1e} in the weights (tolerance {f['atol']}): "
                f"{'passed' if f['passed'] else 'FAILED'} ({_machine(r)}).", '']
    return '\n'.join(out).strip()


if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    folder = Path(args[0]) if args else RESULTS
    text = summary_markdown(folder)
    if '--write' in sys.argv: (folder/'gpu_summary.md').write_text(text + '\n')
    print(text)
