"""Check the notebooks' fastcore discipline: every public function documents each parameter (docments), every export
cell defining public names is followed by a lesson cell before the next export, and tests use `test_*` rather than
bare `assert` on values. It also counts export cells longer than `--max-cell-lines` (fastai's average about 8) and their
lines over 120 characters: reported, not yet failing `--strict`.

    python tools/audit_notebooks.py [--strict]   # --strict: exit 1 on any finding
"""
import argparse, ast, importlib, inspect, json, re, sys
from pathlib import Path
from fastcore.docments import docments

ROOT = Path(__file__).resolve().parents[1]
MAX_CELL_LINES = 40

def _module(nb:dict)->str|None:
    for c in nb['cells']:
        m = re.search(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source']))
        if m: return m.group(1)

def _public_defs(src:str)->list:
    try: tree = ast.parse(src)
    except SyntaxError: return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and not n.name.startswith('_')]

def audit(path:Path)->dict:
    nb = json.loads(path.read_text())
    mod = _module(nb)
    out = dict(undocumented=[], no_lesson=[], several_public=[], bare_asserts=0, long_cells=[], long_lines=0, export_lines=0)
    if mod is None: return out
    m = importlib.import_module(f'interpret_vae.{mod}')
    cells = [(c['cell_type'], ''.join(c['source'])) for c in nb['cells']]
    for i, (kind, src) in enumerate(cells):
        if kind != 'code': continue
        if re.match(r'#\|\s*export', src):
            lines = src.splitlines()
            out['export_lines'] += len(lines); out['long_lines'] += sum(len(l) > 120 for l in lines)
            if len(lines) > MAX_CELL_LINES: out['long_cells'].append(f"{(_public_defs(src) or ['(no public name)'])[0]} ({len(lines)})")
            names = _public_defs(src)
            for n in names:
                obj = getattr(m, n, None)
                if not callable(obj): continue
                fn = obj.__init__ if inspect.isclass(obj) else obj
                if inspect.isclass(obj) and not fn.__qualname__.startswith(obj.__name__ + '.'): continue   # inherited constructor
                try: params = [k for k, p in inspect.signature(fn).parameters.items()
                               if k not in ('self', 'cls') and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]   # docments cannot read *args/**kwargs comments
                except (TypeError, ValueError): continue
                if inspect.isclass(obj) and fn is object.__init__: continue
                try: docs = docments(fn)
                except (OSError, TypeError): continue   # generated (e.g. NamedTuple) constructors
                missing = [p for p in params if not docs.get(p)]
                if missing: out['undocumented'].append(f"{n}({', '.join(missing)})")
            if len(names) > 1: out['several_public'].append(', '.join(names))
            if names:
                nxt = next((s for k, s in cells[i + 1:] if k == 'code' and not s.startswith('#| hide')), '')
                if re.match(r'#\|\s*export', nxt): out['no_lesson'].append(', '.join(names))
        elif not src.startswith('#| export'):
            out['bare_asserts'] += len(re.findall(r'(?:^|[:;]\s*)assert\b', src, re.M))
    return out

def main():
    global MAX_CELL_LINES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); p.add_argument('--strict', action='store_true')
    p.add_argument('--max-cell-lines', type=int, default=MAX_CELL_LINES, help='export cells longer than this are reported')
    a = p.parse_args(); MAX_CELL_LINES = a.max_cell_lines
    sys.path.insert(0, str(ROOT))
    total = dict(undocumented=0, no_lesson=0, several_public=0, bare_asserts=0)
    size = dict(long_cells=0, long_lines=0, export_lines=0)
    for f in sorted((ROOT/'nbs').glob('*.ipynb')):
        r = audit(f)
        for k in total: total[k] += len(r[k]) if isinstance(r[k], list) else r[k]
        for k in size: size[k] += len(r[k]) if isinstance(r[k], list) else r[k]
        if r['long_cells']: print(f"{f.name}: export cells over {MAX_CELL_LINES} lines: {'; '.join(r['long_cells'])}")
        if r['undocumented'] or r['no_lesson'] or r['several_public'] or r['bare_asserts']:
            print(f"{f.name}: bare asserts {r['bare_asserts']}")
            for k in ('undocumented', 'no_lesson', 'several_public'):
                if r[k]: print(f"  {k}: {'; '.join(r[k])}")
    print('total', total)
    print(f"size: {size['long_cells']} export cells over {MAX_CELL_LINES} lines; {size['long_lines']} of {size['export_lines']} "
          f"exported lines ({100 * size['long_lines'] / max(size['export_lines'], 1):.0f}%) over 120 characters")
    if a.strict and any(total.values()): sys.exit(1)

if __name__ == '__main__': main()
