"""Save a benchmark's measured figures to bench/results/<name>.json, where the README's table reads them."""
import json, os, platform, time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/'results'


def record(name: str, **figures):
    "Write `figures` (numbers measured in this run) with the machine they were measured on."
    import torch
    RESULTS.mkdir(exist_ok=True)
    machine = dict(cpus=os.cpu_count(), device=torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu',
                   python=platform.python_version(), torch=torch.__version__,
                   load_average=round(os.getloadavg()[0], 1))  # other work on the machine inflates wall times
    out = dict(name=name, measured=time.strftime('%Y-%m-%d %H:%M'), machine=machine, figures=figures)
    (RESULTS/f'{name}.json').write_text(json.dumps(out, indent=2))
    return out
