"""Build the docs site offline from nbdev's processed notebooks, for machines without quarto.

`make docs` uses `nbdev_docs` when quarto is on PATH and this script otherwise. It processes the notebooks with
nbdev's own steps (the sidebar, then `proc_nbs`: `_proc/`, with the `show_doc` API blocks executed) but without
`nbdev_proc_nbs`'s set-up, whose `_ensure_quarto` runs nbdev's quarto installer (sudo, a download, then
`pip install -e .[dev]` with whatever `pip` is on PATH): this builder installs, downloads and escalates nothing,
and fails if anything in nbdev tries to. The notebooks in git carry no outputs, so it first executes copies of them
into `_exec/` (`tools/run_notebook.py`) and processes those. It renders `_proc/` to `_docs/`: one page per notebook under the file name
nbdev gives it (`output-file` in the front matter), a sidebar in notebook order, code highlighted with pygments,
markdown with mistune (Quarto's `[text](url){key="value"}` link attributes become HTML attributes), figures inline,
progress bars left out, and links between notebooks (`x.ipynb`, or absolute links to the doc host that nbdev writes
for backticked names) made relative.
"""
from __future__ import annotations
import argparse, html, json, os, re, shutil
from configparser import ConfigParser
from pathlib import Path

import mistune, yaml
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, get_lexer_by_name

ROOT = Path(__file__).resolve().parent.parent
EXEC = ROOT/'_exec'  # executed copies of nbs/ (git-ignored)
_fmt = HtmlFormatter(nowrap=False, cssclass='sourceCode')


def slug(text: str) -> str:
    "Heading anchor the way pandoc (quarto) makes it: lower case, spaces to dashes, punctuation but `_-.` dropped, nothing before the first letter."
    text = re.sub(r'<[^>]+>', '', text).strip().lower()
    return re.sub(r'^[^a-z]+', '', re.sub(r'[^\w\-. ]', '', text)).replace(' ', '-')


class _Renderer(mistune.HTMLRenderer):
    def block_code(self, code, info=None):
        lang = (info or 'python').split()[0]
        try: lexer = get_lexer_by_name(lang)
        except Exception: lexer = PythonLexer()
        return highlight(code, lexer, _fmt)

    def heading(self, text, level, **attrs):
        return f'<h{level} id="{slug(text)}" class="anchored">{text}</h{level}>\n'


_mistune = mistune.create_markdown(renderer=_Renderer(escape=False), plugins=['table', 'strikethrough', 'url'])

_ATTR_LINK = re.compile(r'\[([^\]\n]*)\]\(([^)\s]+)\)\{([^}\n]*)\}')
_KEY_VALUE = re.compile(r'([A-Za-z][\w-]*)=("[^"]*"|\S+)')
_HEADING_ATTRS = re.compile(r'^(#{1,6} .*?)\s*\{[#.][^}\n]*\}\s*$', re.M)


def quarto_attributes(md: str) -> str:
    "Markdown with Quarto's attribute blocks resolved: `[t](u){k=\"v\"}` becomes `<a href=\"u\" k=\"v\">t</a>`, `## h {#id}` drops them."
    def link(m):
        attrs = ''.join(f' {k}="{html.escape(v.strip(chr(34)), quote=True)}"' for k, v in _KEY_VALUE.findall(m.group(3)))
        return f'<a href="{html.escape(m.group(2), quote=True)}"{attrs}>{_mistune(m.group(1)).strip().removeprefix("<p>").removesuffix("</p>")}</a>'
    return _HEADING_ATTRS.sub(r'\1', _ATTR_LINK.sub(link, md))


# code first, so that code keeps its dollars; then $$display$$ or $inline$ math (pandoc's rule for the inline kind)
_CODE_OR_MATH = re.compile(r'(```.*?```|`[^`\n]*`)|\$\$(.+?)\$\$|(?<![\\$\w])\$(?![\s$])([^$\n]*?[^\s\\$])\$(?![\w$])', re.S)


def math_to_mathml(md: str) -> tuple[str, dict]:
    "Markdown with its TeX math (outside code) replaced by tokens, and {token: MathML}, which Chromium renders natively (no script, no download)."
    from latex2mathml.converter import convert
    found = {}
    def repl(m):
        if m.group(1): return m.group(1)
        tex, display = (m.group(2), 'block') if m.group(2) is not None else (m.group(3), 'inline')
        try: html_ = convert(tex.strip(), display=display)
        except Exception: html_ = f'<code>{html.escape(tex)}</code>'  # TeX that latex2mathml cannot read stays legible
        token = f'MATHTOKEN{len(found)}X'
        found[token] = html_
        return token
    return _CODE_OR_MATH.sub(repl, md), found


def _md(text: str) -> str:
    text, math = math_to_mathml(quarto_attributes(text))
    out = _mistune(text)
    for token, mathml in math.items(): out = out.replace(token, mathml)
    return out


def front_matter(nb) -> dict:
    "The YAML front matter nbdev puts in the first raw cell."
    for c in nb['cells'][:2]:
        src = ''.join(c['source'])
        if c['cell_type'] == 'raw' and src.startswith('---'):
            return yaml.safe_load(src.strip().strip('-')) or {}
    return {}


def directives(src: str) -> tuple[dict, str]:
    "Split `#| key: value` lines from the code; returns (directives, remaining source)."
    d, keep = {}, []
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).strip() or True
        else: keep.append(line)
    return d, '\n'.join(keep).strip('\n')


def render_output(o, asis: bool) -> str:
    if o['output_type'] == 'stream':
        return f'<pre class="cell-output-stdout">{html.escape("".join(o["text"]))}</pre>'
    if o['output_type'] == 'error':
        tb = re.sub(r'\x1b\[[0-9;]*m', '', '\n'.join(o.get('traceback', [])))
        return f'<pre class="cell-output-error">{html.escape(tb)}</pre>'
    data = o.get('data', {})
    for kind in ('png', 'jpeg', 'gif'):  # noisy scans are stored as JPEG to stay small; animations as GIF
        if f'image/{kind}' in data:
            b64 = ''.join(data[f'image/{kind}']).replace('\n', '')
            return f'<div class="cell-output-display"><img src="data:image/{kind};base64,{b64}" alt="figure"></div>'
    if 'image/svg+xml' in data: return f'<div class="cell-output-display">{"".join(data["image/svg+xml"])}</div>'
    if 'text/html' in data:
        body = without_progress_bars(''.join(data['text/html']))
        if not re.sub(r'<[^>]+>|\s', '', body): return ''  # nothing left but a finished bar
        rows = body.count('<tr>') - 1  # minus the header
        if 'class="fastprogress"' in body and rows > 8:  # long training logs fold away; the table is one click away
            body = f'<details class="training-log"><summary>training log, {rows} epochs</summary>{body}</details>'
        return f'<div class="cell-output-display">{body}</div>'
    if 'text/markdown' in data:
        return f'<div class="cell-output-markdown">{_md("".join(data["text/markdown"]))}</div>'
    if 'text/plain' in data:
        return f'<pre class="cell-output">{html.escape("".join(data["text/plain"]))}</pre>'
    return ''


_BAR = re.compile(r'<progress\b[^>]*>.*?</progress>[^<]*', re.S)  # the bar and its "100.00% [5/5 00:02<00:00]" text
_BAR_STYLE = re.compile(r'<style>[^<]*\bprogress\b[^<]*</style>', re.S)  # fastprogress' CSS for the bar


def without_progress_bars(body: str) -> str:
    "fastprogress HTML with the bars and their CSS removed (a stored bar is noise: a stack of blue bars above the result)."
    return _BAR_STYLE.sub('', _BAR.sub('', body))


def render_cell(c) -> str:
    src = ''.join(c['source'])
    if c['cell_type'] == 'markdown':
        if src.startswith('<!-- WARNING'): return ''
        return f'<div class="cell-md">{_md(src)}</div>'
    if c['cell_type'] != 'code': return ''
    d, code = directives(src)
    if d.get('include') == 'false' or 'hide' in d: return ''
    parts = []
    if code and d.get('echo') != 'false':
        parts.append(highlight(code, PythonLexer(), _fmt))
    if d.get('output') != 'false':
        parts += [render_output(o, d.get('output') == 'asis') for o in c.get('outputs', [])]
    return f'<div class="cell">{"".join(parts)}</div>' if parts else ''


def fix_links(body: str, pages: dict[str, str], host: str) -> str:
    "Make links to notebooks and to the doc host point at the local pages."
    def repl(m):
        href = m.group(1)
        if host and href.startswith(host): href = href[len(host):].lstrip('/')
        path, _, anchor = href.partition('#')
        name = Path(path).name
        if name in pages: path = pages[name]
        return f'href="{path}{"#" + anchor if anchor else ""}"'
    return re.sub(r'href="([^"]+)"', repl, body)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<link rel="stylesheet" href="site.css"></head>
<body>
<header class="navbar"><a href="index.html" class="brand">{site}</a><span class="tagline">{tagline}</span></header>
<div class="layout">
<nav class="sidebar"><ul>{sidebar}</ul></nav>
<main class="content">
<h1 class="title">{title}</h1>
<p class="description">{description}</p>
{body}
</main></div></body></html>
"""

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #222; }
.navbar { background: #2780e3; color: white; padding: .7rem 1.2rem; display: flex; gap: 1rem; align-items: baseline; }
.navbar .brand { color: white; font-weight: 600; font-size: 1.25rem; text-decoration: none; }
.navbar .tagline { opacity: .85; font-size: .9rem; }
.layout { display: flex; }
.sidebar { width: 230px; flex-shrink: 0; padding: 1rem; border-right: 1px solid #eee; min-height: 100vh; }
.sidebar ul { list-style: none; padding: 0; margin: 0; }
.sidebar li { margin: .35rem 0; } .sidebar a { color: #333; text-decoration: none; }
.sidebar a.active { color: #2780e3; font-weight: 600; }
.content { padding: 1rem 2rem; max-width: 980px; min-width: 0; }
.title { margin-bottom: .2rem; } .description { font-style: italic; opacity: .7; font-size: 1.2rem; margin-top: 0; }
pre, .sourceCode pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .85rem; border-radius: 3px; }
.cell { margin-bottom: 1rem; }
.cell-output, .cell-output-stdout { background: none !important; border-left: 2px solid lightsalmon; margin-left: .8rem; }
.cell-output-error { border-left: 2px solid crimson; margin-left: .8rem; }
.cell-output-display img { max-width: 100%; }
.cell-output-markdown { border-top: 1px solid #ddd; padding-top: .2rem; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { border: 1px solid #ddd; padding: .25rem .5rem; }
"""


def build(proc: Path, out: Path):
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini'); c = cfg['DEFAULT']
    host = c.get('doc_host', '') + c.get('doc_baseurl', '')
    side = yaml.safe_load((proc/'sidebar.yml').read_text())['website']['sidebar']['contents']
    nbs = [proc/p for p in side if str(p).endswith('.ipynb')]
    if (proc/'index.ipynb').exists() and proc/'index.ipynb' not in nbs: nbs.insert(0, proc/'index.ipynb')
    nbs.sort(key=lambda p: (p.name != 'index.ipynb', str(p)))
    metas = []
    for p in nbs:
        nb = json.loads(p.read_text())
        fm = front_matter(nb)
        outfile = fm.get('output-file') or ('index.html' if p.stem == 'index' else p.stem + '.html')
        metas.append((p, nb, fm, outfile))
    pages = {p.name: o for p, _, _, o in metas}
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    (out/'site.css').write_text(CSS + _fmt.get_style_defs('.sourceCode'))
    for p, nb, fm, outfile in metas:
        title = fm.get('title', p.stem)
        items = ''.join(f'<li><a href="{o}"{" class=active" if o == outfile else ""}>{html.escape(f.get("title", q.stem))}</a></li>'
                        for q, _, f, o in metas)
        body = ''.join(render_cell(cell) for cell in nb['cells'])
        page = PAGE.format(title=html.escape(str(title)), site=c['title'], tagline=html.escape(c['description']),
                           sidebar=items, description=html.escape(str(fm.get('description', ''))), body=body)
        (out/outfile).write_text(fix_links(page, pages, host))
    for extra in (ROOT/'nbs').glob('images'):  # figures referenced by markdown
        shutil.copytree(extra, out/'images', dirs_exist_ok=True)
    print(f'wrote {len(metas)} pages to {out}')


def _refuse_install(*args, **kwargs):
    raise RuntimeError('build_docs: nbdev tried to install quarto or the package; the offline docs build installs nothing')


def process_notebooks(n_workers: int = 2, execute: bool = True) -> Path:
    "nbdev's `_proc/` (sidebar, executed copies in `_exec/`, then `proc_nbs` on them), without `nbdev_proc_nbs`'s quarto check that installs quarto and the package."
    import nbdev.quarto
    from nbdev.serve import proc_nbs
    from run_notebook import execute_all
    os.chdir(ROOT)  # nbdev reads settings.ini from the working folder
    for name in ('install', 'install_quarto', '_ensure_quarto'):  # trip-wires: none of them may run here
        setattr(nbdev.quarto, name, _refuse_install)
    nbdev.quarto.nbdev_sidebar.__wrapped__()  # nbs/sidebar.yml, the page order (git-ignored)
    if execute: execute_all(sorted((ROOT/'nbs').glob('*.ipynb')), EXEC, n_workers)
    elif not EXEC.exists(): raise SystemExit(f'--skip-exec: there is no {EXEC} to reuse; run without it once')
    return proc_nbs(str(EXEC), n_workers=n_workers, force=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'_docs'))
    ap.add_argument('--skip-proc', action='store_true', help='reuse an existing _proc/')
    ap.add_argument('--skip-exec', action='store_true', help='reuse the executed notebooks in _exec/ (layout work only: they may be stale)')
    ap.add_argument('--n-workers', type=int, default=2, help='notebooks executed, and API blocks rendered, at a time')
    a = ap.parse_args()
    if not a.skip_proc: process_notebooks(a.n_workers, execute=not a.skip_exec)
    build(ROOT/'_proc', Path(a.out))


if __name__ == '__main__': main()
