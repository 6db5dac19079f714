"""Benchmark ``generate --pdf``: the forms of the example register as PDFs, before and after.

    python bench/pdf.py              # the feedback forms and CAPA sheets of the example (73)
    python bench/pdf.py --limit 3 --repeat 1   # fewer documents, one pair (the tests' smoke run)

*Before* is how the toolkit converted until 2026-11, and the floor: one LibreOffice call with a
fresh profile for all files, the documents as written (the command line of the old code). *After*
is ``convert_to_pdf`` as ``generate --pdf`` calls it: one process per core
([documents].pdf_workers), each with its own profile, kept between runs (the second run is timed,
as every daily run after the first), converting lean copies of the documents. Prints documents
per second of each and the ratio, and the CPU seconds LibreOffice spent in each (user + sys of
the finished child processes: on a machine shared with other work the wall-clock ratio moves a
lot, the CPU seconds much less), and checks that nothing but the speed changed: the same number
of pages, the same fonts (``pdffonts``), and page 1 of a form rendered to PNG (``pdftoppm``)
pixel for pixel.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import shutil
import statistics
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


def children_cpu() -> float:
    """CPU seconds (user + sys) of this process's finished children and their children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument("--workers", type=int, default=0, help="LibreOffice processes (0 = one per core)")
    parser.add_argument("--repeat", type=int, default=3, help="before/after pairs; the median ratio counts")
    args = parser.parse_args()
    soffice = find_soffice()
    if soffice is None:
        print("LibreOffice is not installed: nothing to measure (ratio 0.00x)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        work = Path(tmp)
        sources = forms(work / "docs", args.limit)
        n = len(sources)
        workers = max(1, min(args.workers or os.cpu_count() or 1, -(-n // _per_process)))  # as convert_to_pdf
        profiles = work / "profiles"
        warm = sources[:_per_process * (args.workers or os.cpu_count() or 1)]
        convert_to_pdf(copies(warm, work / "warm"), soffice=soffice, workers=args.workers,
                       profiles=profiles)  # the first run ever creates the kept profiles
        print(f"documents:        {n} (feedback forms and CAPA sheets of the example)")
        wall_ratios, cpu_ratios, same, png_same = [], [], 0, True
        for run in range(1, max(1, args.repeat) + 1):
            before_files = copies(sources, work / f"before{run}")
            cpu = children_cpu()
            before, before_s = timed(lambda files=before_files: old_convert(files, soffice))
            before_cpu = children_cpu() - cpu
            after_files = copies(sources, work / f"after{run}")
            cpu = children_cpu()
            after, after_s = timed(lambda files=after_files: convert_to_pdf(
                files, soffice=soffice, workers=args.workers, profiles=profiles))
            after_cpu = children_cpu() - cpu
            assert len(before) == len(after) == n, (len(before), len(after), n)
            same = sum(pages_and_fonts(before[a]) == pages_and_fonts(after[b])
                       for a, b in zip(before_files, after_files, strict=True))
            png_same &= (page_png(before[before_files[0]], work / f"png-before{run}")
                         == page_png(after[after_files[0]], work / f"png-after{run}"))
            wall_ratios.append(before_s / after_s)
            cpu_ratios.append(before_cpu / after_cpu)
            print(f"run {run}: before (floor) {before_s:.1f} s = {n / before_s:.2f} docs/s, LibreOffice CPU "
                  f"{before_cpu:.1f} s (one LibreOffice, fresh profile); after {after_s:.1f} s = "
                  f"{n / after_s:.2f} docs/s, CPU {after_cpu:.1f} s ({workers} LibreOffice process{'es' if workers > 1 else ''}, kept "
                  f"profiles, lean copies)", flush=True)
        print(f"ratio:            {statistics.median(wall_ratios):.2f}x the documents per second of before "
              f"(median of {len(wall_ratios)}, {min(wall_ratios):.2f}-{max(wall_ratios):.2f}; target >= 2x); "
              f"LibreOffice CPU {statistics.median(cpu_ratios):.2f}x less")
        print(f"same pages+fonts: {same}/{n}; page 1 as PNG identical: {png_same}")
        if same != n or not png_same:
            raise SystemExit("FAILED: the PDFs differ in pages, fonts or rendering")


if __name__ == "__main__":
    main()
