"""PDFs with LibreOffice (toolkit/documents/pdf.py): the lean copy LibreOffice converts, and real
conversions (skipped where LibreOffice is not installed)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from toolkit.documents.pdf import MESSAGES, PdfError, convert_to_pdf, find_soffice, lean_docx
from toolkit.i18n import translate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
FORM = TEMPLATES / "feedback-form.docx"

needs_office = pytest.mark.skipif(find_soffice() is None or shutil.which("pdftoppm") is None
                                  or shutil.which("pdffonts") is None,
                                  reason="LibreOffice and poppler-utils are needed")


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def style_ids(styles: bytes) -> set[str]:
    return set(re.findall(r'w:styleId="([^"]*)"', styles.decode()))


@pytest.mark.parametrize("template", ["feedback-form.docx", "capa-sheet.docx", "acknowledgement.en.docx"])
def test_lean_copy_keeps_the_styles_the_document_uses_and_drops_the_rest(template: str) -> None:
    data = (TEMPLATES / template).read_bytes()
    before, after = parts_of(data), parts_of(lean_docx(data))
    assert before.keys() == after.keys()
    assert {k: v for k, v in before.items() if k != "word/styles.xml"} == \
           {k: v for k, v in after.items() if k != "word/styles.xml"}
    kept, all_ids = style_ids(after["word/styles.xml"]), style_ids(before["word/styles.xml"])
    assert kept < all_ids and len(kept) < len(all_ids) // 4, (len(kept), len(all_ids))
    used = set()
    for name, body in before.items():
        if name.startswith("word/") and name not in ("word/styles.xml", "word/stylesWithEffects.xml"):
            used |= set(re.findall(r'<w:(?:pStyle|rStyle|tblStyle) w:val="([^"]*)"', body.decode()))
    assert used and used <= kept
    # Whatever a kept style is based on, or links to, is kept too, and so is every default style.
    names = set(re.findall(r'<w:(?:basedOn|link|next) w:val="([^"]*)"', after["word/styles.xml"].decode()))
    assert names <= kept
    defaults = set(re.findall(r'<w:style [^>]*w:default="1"[^>]*w:styleId="([^"]*)"',
                              before["word/styles.xml"].decode()))
    assert defaults and defaults <= kept


def test_lean_copy_keeps_a_style_named_only_in_the_settings(tmp_path: Path) -> None:
    parts = parts_of(FORM.read_bytes())
    assert "LightShading" in style_ids(parts["word/styles.xml"])
    assert "LightShading" not in style_ids(parts_of(lean_docx(FORM.read_bytes()))["word/styles.xml"])
    parts["word/settings.xml"] = parts["word/settings.xml"].replace(
        b"</w:settings>", b'<w:defaultTableStyle w:val="LightShading"/></w:settings>')
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as out:
        for name, body in parts.items():
            out.writestr(name, body)
    assert "LightShading" in style_ids(parts_of(lean_docx(package.getvalue()))["word/styles.xml"])


def test_lean_copy_leaves_what_it_cannot_read_or_must_not_touch_alone(tmp_path: Path) -> None:
    data = FORM.read_bytes()
    assert lean_docx(data[: len(data) // 2]) == data[: len(data) // 2]  # a cut-off file
    assert lean_docx(b"not a zip") == b"not a zip"
    no_styles = io.BytesIO()
    with zipfile.ZipFile(no_styles, "w") as package:
        package.writestr("word/document.xml", "<w:document/>")
    assert lean_docx(no_styles.getvalue()) == no_styles.getvalue()
    # A table of contents looks styles up by name, so such a document goes to LibreOffice whole.
    parts = parts_of(data)
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"<w:body>", b'<w:body><w:p><w:r><w:instrText> TOC \\o "1-3" </w:instrText></w:r></w:p>', 1)
    with_toc = io.BytesIO()
    with zipfile.ZipFile(with_toc, "w") as package:
        for name, body in parts.items():
            package.writestr(name, body)
    assert lean_docx(with_toc.getvalue()) == with_toc.getvalue()


def page_pngs(pdf: Path, stem: Path) -> list[str]:
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(stem)], check=True)
    return [hashlib.sha256(png.read_bytes()).hexdigest() for png in sorted(stem.parent.glob(stem.name + "*.png"))]


def fonts_of(pdf: Path) -> list[str]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[0].split("+")[-1] for line in out.splitlines()[2:])


@needs_office
@pytest.mark.parametrize("template", ["feedback-form.docx", "capa-sheet.docx"])
def test_lean_copy_prints_the_same_pages_and_fonts_as_the_document(tmp_path: Path, template: str) -> None:
    soffice = find_soffice()
    assert soffice is not None
    whole = tmp_path / "whole"
    shutil.copy(TEMPLATES / template, tmp_path / template)
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--norestore", "--convert-to", "pdf", "--outdir", str(whole), str(tmp_path / template)],
                   capture_output=True, timeout=180, check=True)
    source = tmp_path / "lean" / template
    source.parent.mkdir()
    shutil.copy(TEMPLATES / template, source)
    made = convert_to_pdf([source], soffice=soffice, profiles=tmp_path / "profiles")
    lean_pdf, whole_pdf = made[source], whole / (Path(template).stem + ".pdf")
    assert fonts_of(lean_pdf) == fonts_of(whole_pdf)
    assert any("CJK" in font for font in fonts_of(lean_pdf))
    assert page_pngs(lean_pdf, tmp_path / "png-lean") == page_pngs(whole_pdf, tmp_path / "png-whole")
    assert source.read_bytes() == (TEMPLATES / template).read_bytes()  # the document itself is untouched


def offices_with(marker: Path) -> list[int]:
    """Pids of the running processes whose command line names ``marker`` (a profile folder)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(marker) in (proc / "cmdline").read_bytes().decode("utf-8", "replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def gone(marker: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while offices_with(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def forms(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        out.append(folder / f"{i}_form.docx")
        shutil.copy(FORM, out[-1])
    return out


linux_office = pytest.mark.skipif(find_soffice() is None or not Path("/proc/self/cmdline").exists(),
                                  reason="LibreOffice and Linux /proc are needed")


@linux_office
def test_a_document_that_cannot_be_converted_is_named_and_the_rest_are_made(tmp_path: Path) -> None:
    good = forms(tmp_path / "docs", 2)
    bad = tmp_path / "docs" / "cut_form.docx"
    bad.write_bytes(FORM.read_bytes()[:20000])  # a cut-off file: LibreOffice cannot load it
    soffice = find_soffice()
    assert soffice is not None
    made = convert_to_pdf([good[0], bad, good[1]], soffice=soffice, profiles=tmp_path / "profiles")
    assert sorted(made) == sorted(good)
    assert not bad.with_suffix(".pdf").exists()
    assert gone(tmp_path / "profiles", 5)
    # The stage turns the missing PDF into a note naming the file, in the configured language.
    assert translate(MESSAGES, "pdf-missing", "en", name=bad.name) == "LibreOffice made no PDF of cut_form.docx"


@linux_office
def test_libreoffice_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match="No such file"):
        convert_to_pdf(forms(tmp_path, 1), soffice=str(tmp_path / "no-soffice"))


@linux_office
def test_a_conversion_past_its_time_limit_is_ended_with_all_of_libreoffice(tmp_path: Path) -> None:
    soffice = find_soffice()
    assert soffice is not None
    sources = forms(tmp_path / "docs", 60)
    try:
        made = convert_to_pdf(sources, soffice=soffice, workers=1, profiles=tmp_path / "profiles", timeout=1.0)
    except PdfError as exc:  # nothing made within the second
        assert "timed out after 1 s" in str(exc)
        made = {}
    # A fast machine with warm caches makes a few PDFs within the second: those are kept (make_pdfs
    # names each missing one), the conversion of the rest is ended, not finished.
    assert len(made) < len(sources)
    assert gone(tmp_path / "profiles", 5), offices_with(tmp_path / "profiles")


@linux_office
def test_a_killed_toolkit_leaves_no_libreoffice_behind(tmp_path: Path) -> None:
    sources = forms(tmp_path / "docs", 200)  # some 20 s of converting: the kill comes long before the end
    profiles = tmp_path / "profiles"
    script = ("import sys; from pathlib import Path; from toolkit.documents.pdf import convert_to_pdf;"
              f"convert_to_pdf([Path(p) for p in sys.argv[1:]], soffice={find_soffice()!r}, workers=1,"
              f" profiles=Path({str(profiles)!r}))")
    run = subprocess.Popen([sys.executable, "-c", script, *map(str, sources)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not any("soffice.bin" in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
                      for pid in offices_with(profiles)):
            assert run.poll() is None and time.monotonic() < deadline, "LibreOffice never started"
            time.sleep(0.05)
    finally:
        run.kill()  # kill -9: the toolkit gets no chance to clean up
        run.wait()
    assert gone(profiles, 5), offices_with(profiles)
