"""Benchmark ``generate --pdf``: the forms of the example register as PDFs, before and after.

    python bench/pdf.py              # the feedback forms and CAPA sheets of the example (73)
    python bench/pdf.py --limit 10   # fewer documents (the tests' smoke run)

*Before* is how the toolkit converted until now, and the floor: one LibreOffice call with a
fresh profile for all files (the command line of the old code). *After* is ``convert_to_pdf`` as ``generate --pdf`` calls it: one
process per core ([documents].pdf_workers), each with its own profile, kept between runs (the
second run is timed, as every daily run after the first). Prints documents per second of each
and the ratio, and checks that nothing but the speed changed: the same number of pages, the same
fonts (``pdffonts``), and page 1 of a form rendered to PNG (``pdftoppm``) pixel for pixel.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._floor import timed
from toolkit.config import DocumentKindConfig, config_from_dict
from toolkit.documents import generate
from toolkit.documents.pdf import _FILES_PER_PROCESS as _per_process
from toolkit.documents.pdf import convert_to_pdf, find_soffice
from toolkit.register import read_register
from toolkit.validate import validate

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)


def forms(out: Path, limit: int) -> list[Path]:
    """The example register's feedback forms and CAPA sheets (as before the acknowledgement)."""
    cfg = config_from_dict({"register": {"path": str(ROOT / "examples" / "complaint-register.xlsx")}})
    cfg.documents.kinds["acknowledgement"] = DocumentKindConfig(when="false")
    register = read_register(cfg)
    result = generate(register, validate(register, cfg, TODAY), cfg, today=TODAY, out_dir=out)
    paths = [Path(d.path) for d in result.written]
    return paths[:limit] if limit else paths


def copies(paths: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for number, path in enumerate(paths):
        target = folder / f"{number:03d}_{path.name}"
        shutil.copyfile(path, target)
        out.append(target)
    return out


def old_convert(sources: list[Path], soffice: str) -> dict[Path, Path]:
    """How the toolkit converted until now: one call, a fresh profile, LibreOffice detecting types."""
    with tempfile.TemporaryDirectory(prefix="bench-pdf-old-") as tmp:
        profile = Path(tmp) / "profile"
        subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(sources[0].parent), *map(str, sources)],
                       capture_output=True, timeout=120 + 5 * len(sources), check=True)
    return {s: s.with_suffix(".pdf") for s in sources if s.with_suffix(".pdf").exists()}


def pages_and_fonts(pdf: Path) -> tuple[str, str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False).stdout
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=False).stdout
    # Subset prefixes (ABCDEF+) differ run to run; the font names and types must not.
    names = sorted({" ".join(line.split()[:3]).split("+")[-1] for line in fonts.splitlines()[2:]})
    return pages, ";".join(names)


def page_png(pdf: Path, stem: Path) -> str:
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(pdf), str(stem)], check=True)
    (png,) = stem.parent.glob(stem.name + "*.png")
    return hashlib.sha256(png.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument("--workers", type=int, default=0, help="LibreOffice processes (0 = one per core)")
    args = parser.parse_args()
    soffice = find_soffice()
    if soffice is None:
        print("LibreOffice is not installed: nothing to measure (ratio 0.00x)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        work = Path(tmp)
        sources = forms(work / "docs", args.limit)
        n = len(sources)
        before_files = copies(sources, work / "before")
        before, before_s = timed(lambda: old_convert(before_files, soffice))
        profiles = work / "profiles"
        warm = sources[:_per_process * (args.workers or os.cpu_count() or 1)]
        convert_to_pdf(copies(warm, work / "warm"), soffice=soffice, workers=args.workers,
                       profiles=profiles)  # the first run ever creates the kept profiles
        after_files = copies(sources, work / "after")
        after, after_s = timed(lambda: convert_to_pdf(after_files, soffice=soffice, workers=args.workers,
                                                      profiles=profiles))
        assert len(before) == len(after) == n, (len(before), len(after), n)
        same = sum(pages_and_fonts(before[a]) == pages_and_fonts(after[b])
                   for a, b in zip(before_files, after_files, strict=True))
        png_before = page_png(before[before_files[0]], work / "png-before")
        png_after = page_png(after[after_files[0]], work / "png-after")
        workers = args.workers or os.cpu_count() or 1
        print(f"documents:        {n} (feedback forms and CAPA sheets of the example)")
        print(f"before (floor):   {before_s:.1f} s, {n / before_s:.2f} docs/s (one LibreOffice, fresh profile)")
        print(f"after:            {after_s:.1f} s, {n / after_s:.2f} docs/s ({workers} LibreOffice processes, "
              "kept profiles)")
        print(f"ratio:            {before_s / after_s:.2f}x the documents per second of before")
        print(f"same pages+fonts: {same}/{n}; page 1 as PNG identical: {png_before == png_after}")
        if same != n or png_before != png_after:
            raise SystemExit("FAILED: the PDFs differ in pages, fonts or rendering")


if __name__ == "__main__":
    main()
