#!/usr/bin/env python3
"""Sizes of the SPA's .wasm files in a build (dist/ by default), as scripts/build-spa prints them.

The main module loads first; each area of the app is a split module that needs some shared
chunks (scripts/split-spa). "first visit" is what a first visit to a page of that area
downloads: the main module plus that area's files, each gzipped on its own.
"""
import gzip
import pathlib
import re
import sys

dist = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
link = next(dist.glob("split-*.js")).read_text()
main = next(dist.glob("frontend-*_bg.wasm"))


def gz(path):
    return len(gzip.compress(path.read_bytes(), 9))


def kb(n):
    return f"{n / 1000:.1f} KB"


# const __chunk_7 = makeLoad(() => { const src = fetch(new URL("./chunk_7-<hash>.wasm", …
chunks = dict(re.findall(r'const (__chunk_\d+) = makeLoad\(\(\) => \{\s*const src = fetch\(new URL\("\./([^"]+)"', link))
# export const __wasm_split_load_<area> = wrapAsyncCb(makeLoad(() => {…"./split_<area>-<hash>.wasm"…}, [__chunk_…]))
areas = re.findall(
    r'export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\(\(\) => \{\s*const src = fetch\(new URL\("\./([^"]+)".*?\n\}\n, \[([^\]]*)\]',
    link,
    re.S,
)
if not areas:
    sys.exit(f"no split modules found in {dist}: was scripts/split-spa run?")

main_gz = gz(main)
print(f"main module: {main.stat().st_size} bytes raw, {main_gz} bytes gzip ({main.name})")
worst = 0
for area, own, deps in sorted(areas):
    files = [own] + [chunks[d.strip()] for d in deps.split(",") if d.strip()]
    raw = sum((dist / f).stat().st_size for f in files)
    zipped = sum(gz(dist / f) for f in files)
    worst = max(worst, main_gz + zipped)
    print(f"  {area:<11} {len(files):3} files, {kb(raw):>9} raw, {kb(zipped):>8} gzip; "
          f"first visit {kb(main_gz + zipped)} gzip")
every = list(dist.glob("*.wasm"))
print(f"all {len(every)} .wasm files: {sum(p.stat().st_size for p in every)} bytes raw, "
      f"{sum(gz(p) for p in every)} bytes gzip; largest first visit {worst} bytes gzip")
