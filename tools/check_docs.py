"""Open the built docs site in headless Chromium, take screenshots and check what a reader would see.

For every page: the site title is shown, every internal link (page and anchor) resolves. For every module page:
each public name the module exports (from `_modidx.py`) has its API block. Tutorial pages must show figures.
Screenshots go to `_docs/_screenshots/`. Exits non-zero, listing every problem, when a check fails.
"""
from __future__ import annotations
import argparse, re, shutil, subprocess, sys, tempfile
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


class _Page(HTMLParser):
    "Collects ids, hrefs, images and visible text of a rendered DOM."
    def __init__(self):
        super().__init__(); self.ids, self.hrefs, self.imgs, self.srcs, self.text = set(), [], 0, [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if 'id' in a: self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])
        if tag == 'img':
            self.imgs += 1
            if a.get('src') and not a['src'].startswith('data:'): self.srcs.append(a['src'])
    def handle_data(self, data): self.text.append(data)


def module_symbols() -> dict[str, list[str]]:
    "Public names per module file, from nbdev's index `_modidx.py`."
    ns = {}
    exec((ROOT/'interpret_vae'/'_modidx.py').read_text(), ns)
    out = {}
    for mod, syms in ns['d']['syms'].items():
        names = {s.split('.')[len(mod.split('.'))] for s in syms}
        out[mod.split('.', 1)[1].replace('.', '/') + '.py'] = sorted(n for n in names if not n.startswith('_'))
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--docs', default=str(ROOT/'_docs'))
    ap.add_argument('--title', default='interpret_vae')
    a = ap.parse_args()
    docs = Path(a.docs)
    if not (docs/'index.html').exists(): sys.exit(f'check_docs: {docs}/index.html missing; run `make docs` first')
    shots = docs/'_screenshots'; shots.mkdir(exist_ok=True)
    syms, mods = module_symbols(), page_modules()
    problems, parsed = [], {}
    pages = sorted(p.name for p in docs.glob('*.html'))
    for name in pages:
        p = _Page(); p.feed(run_chromium(['--dump-dom'], (docs/name).as_uri())); parsed[name] = p
    for name, p in parsed.items():
        text = ' '.join(p.text)
        if a.title not in text: problems.append(f'{name}: site title {a.title!r} not shown')
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
    for name in ['index.html'] + [n for n in pages if n in mods or 'tutorial' in n]:
        run_chromium([f'--screenshot={shots/name.replace(".html", ".png")}', '--window-size=1280,1600'],
                     (docs/name).as_uri())
    n_api = sum(len(syms.get(m, [])) for n, m in mods.items() if n in parsed)
    print(f'checked {len(parsed)} pages, {n_api} API blocks, {sum(len(p.hrefs) for p in parsed.values())} links, '
          f'{sum(len(p.srcs) for p in parsed.values())} image files; '
          f'screenshots in {shots}')
    if problems:
        print('\n'.join(problems)); sys.exit(1)


if __name__ == '__main__': main()
