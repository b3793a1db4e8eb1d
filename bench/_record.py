"""Save a benchmark's measured figures to bench/results/<name>.json, where the README's tables read them.

`IVAE_BENCH_RESULTS` names another folder (dry runs write to a temporary one, so that they never overwrite measured results).
"""
import json, os, platform, subprocess, time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/'results'


def results_dir() -> Path:
    "Where results go: `IVAE_BENCH_RESULTS` when set, else bench/results/."
    return Path(os.environ.get('IVAE_BENCH_RESULTS') or RESULTS)


def _gpus() -> list:
    "Name and memory of every visible GPU, and the driver, as nvidia-smi reports them (empty without one)."
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError): return []
    return [dict(zip(('name', 'memory', 'driver'), (v.strip() for v in line.split(',')))) for line in out.splitlines() if line.strip()]


def machine() -> dict:
    "The machine a figure was measured on: CPUs, device, GPUs, Python, torch, CUDA, and the load (other work inflates wall times)."
    import torch
    cuda = torch.cuda.is_available()
    return dict(cpus=os.cpu_count(), device=torch.cuda.get_device_name() if cuda else 'cpu',
                gpus=_gpus() if cuda else [], gpu_count=torch.cuda.device_count() if cuda else 0,
                python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda if cuda else None,
                load_average=round(os.getloadavg()[0], 1))


def record(name: str, **figures):
    "Write `figures` (numbers measured in this run) with the machine they were measured on."
    out_dir = results_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    out = dict(name=name, measured=time.strftime('%Y-%m-%d %H:%M'), machine=machine(), figures=figures)
    (out_dir/f'{name}.json').write_text(json.dumps(out, indent=2))
    return out
