"""Check the notebooks' fastcore discipline: every public function documents each parameter (docments), every export
cell defining public names is followed by a lesson cell before the next export, and tests use `test_*` rather than
bare `assert` on values, every export cell is at most `--max-cell-lines` long (fastai's average is about 8), and prose
never writes a private name in single backticks (nbdev would link it to an API block a private name does not have: a
broken link on the site; write it as ``` `` _name `` ```). Lines over 120 characters are counted, not failed.

`--docs-exec` checks one thing only, the one that breaks the docs build: nbdev's docs step (`proc_nbs`) executes, in a
fresh kernel, only export cells, `show_doc` cells and every cell that contains an import. A cell that mixes an import with
code that uses a name from a cell nbdev does not execute passes `make test` and fails `make docs`. Keep imports in import
cells; a cell with an import must be self-contained.

    python tools/audit_notebooks.py [--strict]   # --strict: exit 1 on any finding, long export cells included (CI runs it)
    python tools/audit_notebooks.py --docs-exec  # exit 1 if a cell the docs step executes uses a name it never defines
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
    out = dict(undocumented=[], no_lesson=[], several_public=[], bare_asserts=0, private_links=[], long_cells=[], long_lines=0, export_lines=0)
    if mod is None: return out
    m = importlib.import_module(f'interpret_vae.{mod}')
    cells = [(c['cell_type'], ''.join(c['source'])) for c in nb['cells']]
    for i, (kind, src) in enumerate(cells):
        if kind == 'markdown': out['private_links'] += re.findall(r'`(_[A-Za-z]\w*)(?:\(\))?`', src)
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

def _defined(tree)->set:
    "Names a cell binds at its top level (imports, assignments, defs, loop and with targets)."
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                if a.name == '*': out |= {k for k in dir(importlib.import_module(n.module)) if not k.startswith('_')}
                else: out.add((a.asname or a.name).split('.')[0])
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): out.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): out.add(n.id)
        elif isinstance(n, ast.arg): out.add(n.arg)
        elif isinstance(n, ast.ExceptHandler) and n.name: out.add(n.name)
    return out

def _loaded_at_run(tree)->set:
    "Names a cell reads when it runs: function and lambda bodies read theirs only when called."
    out, todo = set(), [tree]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load): out.add(n.id)
        if isinstance(n, ast.Lambda): body = [n.body]
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)): body = n.body
        else: body = []
        todo += [ch for ch in ast.iter_child_nodes(n) if not any(ch is b for b in body)]
    return out

def docs_exec_problems(path:Path)->list:
    "Cells nbdev's docs step executes that use a name no executed cell (nor the cell itself) defines."
    import builtins
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval, add_show_docs
    proc = NBProcessor(path, procs=[add_show_docs]); proc.process()
    if not proc.nb.has_docs_: return []   # nbdev executes nothing in a notebook without exports or show_doc
    known, problems = set(dir(builtins)) | {'show_doc', 'get_ipython', 'display'}, []
    for c in proc.nb.cells:
        if c.cell_type != 'code' or not _do_eval(c): continue
        tree = ast.Module(body=list(c.parsed_()), type_ignores=[])   # the statements nbdev parsed (magics stripped)
        mine = _defined(tree)
        used = _loaded_at_run(tree)
        missing = sorted(used - known - mine)
        if missing: problems.append(f"{path.name} cell {c.idx_}: uses {', '.join(missing)}, which the docs step never defines")
        known |= mine
    return problems

def main():
    global MAX_CELL_LINES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0]); p.add_argument('--strict', action='store_true')
    p.add_argument('--max-cell-lines', type=int, default=MAX_CELL_LINES, help='export cells longer than this are reported')
    p.add_argument('--docs-exec', action='store_true', help="only check the cells nbdev's docs step executes")
    a = p.parse_args(); MAX_CELL_LINES = a.max_cell_lines
    sys.path.insert(0, str(ROOT))
    if a.docs_exec:
        import os, warnings; os.chdir(ROOT); warnings.filterwarnings('ignore')   # nbdev reads settings.ini here; its FAQ warning is this check's subject
        problems = [m for f in sorted((ROOT/'nbs').glob('*.ipynb')) for m in docs_exec_problems(f)]
        print('\n'.join(problems) or "docs-exec: every cell nbdev's docs step executes defines what it uses")
        sys.exit(1 if problems else 0)
    total = dict(undocumented=0, no_lesson=0, several_public=0, bare_asserts=0, private_links=0)
    size = dict(long_cells=0, long_lines=0, export_lines=0)
    for f in sorted((ROOT/'nbs').glob('*.ipynb')):
        r = audit(f)
        for k in total: total[k] += len(r[k]) if isinstance(r[k], list) else r[k]
        for k in size: size[k] += len(r[k]) if isinstance(r[k], list) else r[k]
        if r['long_cells']: print(f"{f.name}: export cells over {MAX_CELL_LINES} lines: {'; '.join(r['long_cells'])}")
        if r['undocumented'] or r['no_lesson'] or r['several_public'] or r['bare_asserts'] or r['private_links']:
            print(f"{f.name}: bare asserts {r['bare_asserts']}")
            for k in ('undocumented', 'no_lesson', 'several_public', 'private_links'):
                if r[k]: print(f"  {k}: {'; '.join(r[k])}")
    print('total', total)
    print(f"size: {size['long_cells']} export cells over {MAX_CELL_LINES} lines; {size['long_lines']} of {size['export_lines']} "
          f"exported lines ({100 * size['long_lines'] / max(size['export_lines'], 1):.0f}%) over 120 characters")
    if a.strict and (any(total.values()) or size['long_cells']): sys.exit(1)

if __name__ == '__main__': main()
