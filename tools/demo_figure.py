"""Refresh the README's demo figures from a finished `make demo`: a screenshot of demo_out/report.html (headless
Chromium) as nbs/images/demo_report.png, and demo_out/metrics.json as nbs/images/demo_metrics.json (the README reads
the demo's wall time from it). Usage: `.venv/bin/python tools/demo_figure.py [DEMO_OUT]`."""
import shutil, subprocess, sys, tempfile
from pathlib import Path
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--hide-scrollbars']

def main(out:Path):
    report, metrics = out/'report.html', out/'metrics.json'
    for f in (report, metrics):
        if not f.exists(): sys.exit(f'{f}: not found; run `make demo` first')
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    if browser is None: sys.exit('chromium: not found (apt-get install chromium)')
    with tempfile.TemporaryDirectory() as d:
        shot = Path(d)/'report.png'
        subprocess.run([browser, *FLAGS, '--window-size=1150,1600', f'--screenshot={shot}', report.resolve().as_uri()],
                       check=True, capture_output=True)
        # the top of the report (tables and the first figures); a small palette keeps the PNG around 50 KB
        Image.open(shot).convert('RGB').crop((0, 0, 1150, 1420)).quantize(48).save(ROOT/'nbs/images/demo_report.png', optimize=True)
    shutil.copy(metrics, ROOT/'nbs/images/demo_metrics.json')
    print('wrote nbs/images/demo_report.png and nbs/images/demo_metrics.json')

if __name__ == '__main__': main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT/'demo_out'))
