"""Shrink the figures stored in notebooks: every PNG/JPEG output wider than `--width` pixels is scaled down, and stored
as JPEG when that is smaller; the plain-text copy of an output that also has a figure, HTML or markdown is dropped (the
docs show the richer one). The docs and the README show these outputs; the notebooks must stay small to review.

    python tools/shrink_outputs.py nbs/*.ipynb [--width 560] [--quality 55]
"""
import argparse, base64, io, json

RICH = ('image/png', 'image/jpeg', 'image/gif', 'image/svg+xml', 'text/html', 'text/markdown')
from pathlib import Path
from PIL import Image

def shrink(data:str, width:int, quality:int)->tuple[str, str]:
    "(mime, base64) of the smaller of the image re-encoded as JPEG at `width` and PNG at `width`."
    im = Image.open(io.BytesIO(base64.b64decode(data)))
    if im.width > width: im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    rgb = im.convert('RGB')
    jpg, png = io.BytesIO(), io.BytesIO()
    rgb.save(jpg, 'JPEG', quality=quality, optimize=True)
    im.save(png, 'PNG', optimize=True)
    best = min((jpg, 'image/jpeg'), (png, 'image/png'), key=lambda t: t[0].tell())
    return best[1], base64.b64encode(best[0].getvalue()).decode()

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='+'); p.add_argument('--width', type=int, default=560); p.add_argument('--quality', type=int, default=55)
    a = p.parse_args()
    for f in map(Path, a.notebooks):
        nb, before = json.loads(f.read_text()), f.stat().st_size
        for c in nb['cells']:
            for o in c.get('outputs', []):
                d = o.get('data', {})
                for mime in [m for m in ('image/png', 'image/jpeg') if m in d]:
                    raw = d[mime] if isinstance(d[mime], str) else ''.join(d[mime])
                    new_mime, new = shrink(raw, a.width, a.quality)
                    if len(new) < len(raw):
                        del d[mime]; d[new_mime] = new
                        o.setdefault('metadata', {}).pop(mime, None)
                if 'text/plain' in d and any(m in d for m in RICH): del d['text/plain']
        f.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        print(f'{f}: {before // 1024} KB -> {f.stat().st_size // 1024} KB')

if __name__ == '__main__': main()
