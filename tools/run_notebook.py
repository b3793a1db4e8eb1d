"""Execute notebooks in place with a Jupyter kernel, storing their outputs for the docs, skipping `#| slow` and `#| cuda` cells.

`jupyter nbconvert --execute` would run the paper-scale cells too. Usage: `.venv/bin/python tools/run_notebook.py nbs/NAME.ipynb ...`
then `.venv/bin/nbdev_clean`. The kernel runs with one intra-op thread (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1, as
`make test` does) unless the environment sets them, so the stored numbers are the ones the tests reproduce.
"""
import os, re, sys, time
from pathlib import Path
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

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

def run(path:Path, timeout:int=1800):
    "Execute the notebook at `path` in its own folder and write it back with outputs."
    nb = nbformat.read(path, as_version=4)
    t = time.time()
    SkipSlow(timeout=timeout, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(path.parent)}})
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = [o for o in c.outputs if not _is_progress_bar(o)]
    nbformat.write(nb, path)
    print(f'{path}: executed in {time.time() - t:.0f} s')

if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(var, '1')  # the kernel inherits them
    for p in sys.argv[1:]:
        path = Path(p).resolve()
        if not path.exists(): sys.exit(f'{p}: no such notebook')
        run(path)
