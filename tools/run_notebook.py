"""Execute the notebooks for the docs: copies of `nbs/` with their outputs, in `_exec/`, skipping `#| slow` and `#| cuda` cells.

The notebooks in git carry no outputs (`clear_all = True` in settings.ini, so `nbdev_clean` strips them): what the docs
and the README show is computed from the code of the same commit, never a stale stored result. `make docs` runs this
first; `jupyter nbconvert --execute` would run the paper-scale cells too. Each kernel starts in `nbs/`, so relative
paths (`images/`, `../bench/results`) resolve as in Jupyter, and runs with one intra-op thread (OMP_NUM_THREADS=1,
MKL_NUM_THREADS=1, as `make test` does) unless the environment sets them. Fastprogress bars are dropped from the outputs.

    .venv/bin/python tools/run_notebook.py [--out _exec] [--workers 2] [nbs/NAME.ipynb ...]   # default: every notebook
"""
import argparse, os, re, shutil, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = re.compile(r'^#\|\s*(slow|cuda)\b', re.M)

class SkipSlow(ExecutePreprocessor):
    "nbconvert's executor, leaving cells marked `#| slow` or `#| cuda` as they are."
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == 'code' and SKIPPED.search(cell.source): return cell, resources
        return super().preprocess_cell(cell, resources, index)

def _is_progress_bar(out)->bool:
    "A fastprogress bar: animated HTML that renders as a stack of empty bars in the docs."
    html = out.get('data', {}).get('text/html', '')
    html = ''.join(html) if isinstance(html, list) else html
    return '<progress' in html or 'progress-bar' in html

def executed(path:Path, timeout:int=1800):
    "The notebook at `path` after running it in its own folder, without progress bars."
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(var, '1')  # the kernel inherits them
    nb = nbformat.read(path, as_version=4)
    SkipSlow(timeout=timeout, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(path.parent)}})
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = [o for o in c.outputs if not _is_progress_bar(o)]
    return nb

def _run(path:Path, out:Path)->str:
    t = time.time()
    nbformat.write(executed(path), out/path.name)
    return f'{path.name}: executed in {time.time() - t:.0f} s'

def execute_all(notebooks, out:Path, workers:int=2):
    "Copy `nbs/` to `out` (a fresh folder: nothing stale survives), then overwrite its notebooks by executed `notebooks`."
    if out.resolve() in (ROOT/'nbs', ROOT): sys.exit(f'--out {out}: must be a folder of its own, not nbs/ or the repository')
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ROOT/'nbs', out, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_tmp', 'runs'))
    # the tutorials take the longest: start them first so that two workers finish together
    todo = sorted(notebooks, key=lambda p: ('tutorial' not in p.name, p.name))
    with ProcessPoolExecutor(workers) as pool:
        for msg in pool.map(_run, todo, [out] * len(todo)): print(msg, flush=True)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebooks to execute (default: every notebook in nbs/)')
    p.add_argument('--out', default=str(ROOT/'_exec'), help='folder for the copy of nbs/ with outputs (replaced)')
    p.add_argument('--workers', type=int, default=2, help='notebooks executed at a time')
    a = p.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((ROOT/'nbs').glob('*.ipynb'))
    for n in nbs:
        if not n.exists(): sys.exit(f'{n}: no such notebook')
    execute_all(nbs, Path(a.out), a.workers)

if __name__ == '__main__': main()
