"""Copy the README's gallery figures (config figures.gallery) from results/ to docs/gallery/."""

import shutil
from pathlib import Path

from _common import start

sm = snakemake  # noqa: F821
log = start(sm)
out = Path(sm.output[0])
out.mkdir(parents=True, exist_ok=True)
for name in sm.params.pick:
    src = Path(name)
    if not src.exists():
        raise FileNotFoundError(f"gallery figure {src} was not made; expected one of the figure targets")
    dst = out / "_".join(src.parts[1:])
    shutil.copyfile(src, dst)
    log.info("%s -> %s", src, dst)
