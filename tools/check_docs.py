"""Open the built docs site in headless Chromium, take screenshots and check what a reader would see.

For every page: the site title is shown, every internal link (page and anchor) resolves, the prose (text outside
code blocks) shows no unrendered markup (raw Quarto attributes such as `{target="_blank" ...}`, literal `**bold**`,
`[text](link)` or ``` fences) and no progress bar is left in the page. For every module page: each public name the
module exports (from `_modidx.py`) has its API block, and so does each public method a user calls (not the hooks that
fastai, torch or ipywidgets call). Tutorial pages must show figures. Screenshots go to
`_docs/_screenshots/`. Exits non-zero, listing every problem, when a check fails. `--self-test` builds a small site
with one clean and one deliberately broken page and checks that exactly the broken one's problems are reported.
"""
from __future__ import annotations
import argparse, json, re, shutil, subprocess, sys, tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-quic', '--no-first-run', '--disable-sync', '--hide-scrollbars']


def chromium() -> str:
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(name): return shutil.which(name)
    sys.exit('check_docs: Chromium not found; install it with `apt-get install chromium`')


def run_chromium(args: list[str], url: str) -> str:
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([chromium(), *FLAGS, f'--user-data-dir={prof}', *args, url],
                           capture_output=True, text=True, timeout=120)
    if r.returncode != 0: raise RuntimeError(f'chromium failed on {url}: {r.stderr[-500:]}')
    return r.stdout


_CODE_TAGS = {'pre', 'code', 'script', 'style', 'textarea'}


class _Page(HTMLParser):
    "Collects ids, hrefs, images, progress bars, visible text, and the prose (text outside code) of a rendered DOM."
    def __init__(self):
        super().__init__(); self.ids, self.hrefs, self.imgs, self.srcs, self.text, self.prose = set(), [], 0, [], [], []
        self.bars, self._code = 0, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])
        if tag == 'img':
            self.imgs += 1
            if a.get('src') and not a['src'].startswith('data:'): self.srcs.append(a['src'])
        if tag == 'progress': self.bars += 1
        if tag in _CODE_TAGS: self._code += 1
    def handle_endtag(self, tag):
        if tag in _CODE_TAGS: self._code = max(self._code - 1, 0)
    def handle_data(self, data):
        self.text.append(data)
        if not self._code: self.prose.append(data)


UNRENDERED = [  # (what a reader would see, pattern in prose text outside code blocks)
    ('raw Quarto attributes', re.compile(r'\{\s*(?:target|style|class|width|height|fig-\w+)\s*=|\{[.#][\w-]+[^}]*\}')),
    ('literal **bold** markup', re.compile(r'\*\*\S[^*]*?\*\*')),
    ('a literal markdown link [text](target)', re.compile(r'\]\((?:[a-z]+:|#|\.{0,2}/|[\w.-]+\.(?:ipynb|html|md|png|jpe?g|gif|py)\b)')),
    ('a literal ``` code fence', re.compile(r'```')),
    ('raw TeX math', re.compile(r'\$[^$\s][^$\n]*?\\[A-Za-z]+[^$\n]*?\$|\$[^$\s]+_[^$\s]+\$')),  # $\mu_t$, $M_L$: math the builder did not render
]


def markup_problems(name: str, page: _Page) -> list[str]:
    "What the reader of `page` sees that should have been rendered: raw markup in the prose, progress bars."
    prose = ''.join(page.prose)
    out = []
    for what, pat in UNRENDERED:
        m = pat.search(prose)
        if m: out.append(f'{name}: {what} shown as text: {prose[max(m.start() - 30, 0):m.end() + 30]!r}')
    if page.bars: out.append(f'{name}: {page.bars} progress bar(s) in the page (stored fastprogress output)')
    return out


# methods that fastai, torch or ipywidgets call (hooks and protocol), not the user: they need no API block of their own
HOOK = re.compile(r'^(before_|after_)|^(forward|encodes|decodes|reset|accumulate|value|name|activation)$')

def module_symbols() -> dict[str, list[str]]:
    "Public names per module file, from nbdev's index `_modidx.py`."
    ns = {}
    exec((ROOT/'interpret_vae'/'_modidx.py').read_text(), ns)
    out = {}
    for mod, syms in ns['d']['syms'].items():
        parts = [s.split('.')[len(mod.split('.')):] for s in syms]
        names = {p[0] for p in parts} | {'.'.join(p) for p in parts if len(p) == 2 and not HOOK.search(p[1])}
        out[mod.split('.', 1)[1].replace('.', '/') + '.py'] = sorted(n for n in names if not n.startswith('_') and '._' not in n)
    return out


def page_modules() -> dict[str, str]:
    "Map each page to the module its notebook exports, via `#| default_exp` in nbs/."
    res = {}
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        m = re.search(r'#\|\s*default_exp\s+([\w.]+)', nb.read_text())
        if not m: continue
        stem = re.sub(r'^\d+[a-z]?_', '', nb.stem)
        res[stem + '.html'] = m.group(1).replace('.', '/') + '.py'
    return res


def check_site(docs: Path, title: str, screenshots: bool = True) -> list[str]:
    "Every problem a reader would meet in the site at `docs` (empty when it is clean)."
    syms, mods = module_symbols(), page_modules()
    problems, parsed = [], {}
    pages = sorted(p.name for p in docs.glob('*.html'))
    for name in pages:
        p = _Page(); p.feed(run_chromium(['--dump-dom'], (docs/name).as_uri())); parsed[name] = p
    for name, p in parsed.items():
        text = ' '.join(p.text)
        if title not in text: problems.append(f'{name}: site title {title!r} not shown')
        problems += markup_problems(name, p)
        for href in p.hrefs:
            if re.match(r'^[a-z]+:', href): continue
            path, _, anchor = href.partition('#')
            target = path or name
            if target not in parsed: problems.append(f'{name}: broken link {href!r}')
            elif anchor and anchor not in parsed[target].ids: problems.append(f'{name}: missing anchor {href!r}')
        for src in p.srcs:  # figures that are files (README images), not embedded outputs
            if not re.match(r'^[a-z]+:', src) and not (docs/src).exists(): problems.append(f'{name}: missing image {src!r}')
        mod = mods.get(name)
        for sym in syms.get(mod, []):
            if sym.lower() not in p.ids: problems.append(f'{name}: API block for {sym} missing')
        if 'tutorial' in name and p.imgs == 0: problems.append(f'{name}: tutorial page shows no figure')
    shots = docs/'_screenshots'
    if screenshots:
        shots.mkdir(exist_ok=True)
        for name in ['index.html'] + [n for n in pages if n in mods or 'tutorial' in n]:
            run_chromium([f'--screenshot={shots/name.replace(".html", ".png")}', '--window-size=1280,1600'],
                         (docs/name).as_uri())
    n_api = sum(len(syms.get(m, [])) for n, m in mods.items() if n in parsed)
    print(f'checked {len(parsed)} pages, {n_api} API blocks, {sum(len(p.hrefs) for p in parsed.values())} links, '
          f'{sum(len(p.srcs) for p in parsed.values())} image files' + (f'; screenshots in {shots}' if screenshots else ''))
    return problems


def self_test(title: str):
    "Build a two-page site with the offline builder: the clean page must pass, each defect of the broken one must be reported."
    sys.path.insert(0, str(ROOT/'tools'))
    from build_docs import build
    md = lambda src: dict(cell_type='markdown', metadata={}, source=src)
    html_out = lambda body: dict(cell_type='code', metadata={}, source='learn.fit(1)', execution_count=1,
                                 outputs=[dict(output_type='display_data', metadata={}, data={'text/html': body})])
    front = lambda t: dict(cell_type='raw', metadata={}, source=f'---\ntitle: {t}\n---')
    bar = '<style>\n    /* Turns off some styling */\n    progress { border: none; }\n</style>'
    api = '[source](https://github.com/x/y/blob/main/m.py#L1){target="_blank" style="float:right; font-size:smaller"}'
    clean = [front('clean'), md(f'{api}\n\n### f\n\n> f (x)\n\n**Bold** text, a [link](broken.html), `code` and $\\mu_t$.'),
             md('```python\nf(**kwargs)  # code may hold ** and ](\n```'), html_out(bar + '<div><progress value="5" max="5"></progress> 100.00% [5/5 00:02&lt;00:00]</div>')]
    nb = lambda cells: dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)
    # what the builder renders cannot show the defects, so the broken page's HTML is written by hand: raw attributes,
    # literal markdown, raw TeX and a bar
    broken = ('<a href="https://github.com/x/y">source</a>{target="_blank" style="float:right"}'
              '<p>**not bold** and [a link](index.html) and ```python and $\\mu_t$</p><pre>f(**kw)</pre>'
              '<div><progress value="5" max="5"></progress> 100.00% [5/5]</div>')
    with tempfile.TemporaryDirectory() as d:
        proc, docs = Path(d)/'_proc', Path(d)/'_docs'
        proc.mkdir()
        (proc/'sidebar.yml').write_text('website:\n  sidebar:\n    contents:\n    - index.ipynb\n    - broken.ipynb\n')
        (proc/'index.ipynb').write_text(json.dumps(nb(clean)))
        (proc/'broken.ipynb').write_text(json.dumps(nb([front('broken'), md('placeholder')])))
        build(proc, docs)
        page = (docs/'broken.html').read_text()
        (docs/'broken.html').write_text(page.replace('<div class="cell-md"><p>placeholder</p>\n</div>', broken))
        problems = check_site(docs, title, screenshots=False)
    print('\n'.join(problems))
    expected = ['raw Quarto attributes', 'literal **bold**', 'literal markdown link', 'code fence', 'raw TeX math', 'progress bar']
    missed = [e for e in expected if not any(p.startswith('broken.html') and e in p for p in problems)]
    wrong = [p for p in problems if not p.startswith('broken.html')]
    if missed or wrong or len(problems) != len(expected):
        sys.exit(f'check_docs self-test FAILED: not reported {missed}; reported on the clean page {wrong}; {len(problems)} problems in all')
    print(f'check_docs self-test passed: the clean page passes, the broken page fails with all {len(expected)} defects')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--docs', default=str(ROOT/'_docs'))
    ap.add_argument('--title', default='interpret_vae')
    ap.add_argument('--self-test', action='store_true', help='check that a deliberately broken page fails (and a clean one passes)')
    a = ap.parse_args()
    if a.self_test: return self_test(a.title)
    docs = Path(a.docs)
    if not (docs/'index.html').exists(): sys.exit(f'check_docs: {docs}/index.html missing; run `make docs` first')
    problems = check_site(docs, a.title)
    if problems:
        print('\n'.join(problems)); sys.exit(1)


if __name__ == '__main__': main()
