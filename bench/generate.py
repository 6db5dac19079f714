"""Benchmark document generation: N feedback forms against the bare zip-and-substitute floor.

    python bench/generate.py            # 1,000 forms
    python bench/generate.py 5000 --workers 1

Prints docs/s, seconds, peak RSS, the *floor* measured in the same run (read the template's
parts once, ``str.replace`` a few placeholders in document.xml, write the zip; N times, one
process, plain file writes) and the ratio generate / floor. The toolkit does more per document
than the floor (Jinja render of body and headers, escaping, atomic write with fsync), and may
use several processes ([documents].workers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

try:
    from bench._floor import peak_rss_mb, timed
except ImportError:  # pragma: no cover - helper A's module absent
    import time

    def peak_rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def timed(fn):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - start

from toolkit.config import Config
from toolkit.documents import FEEDBACK, generate, template_path
from toolkit.model import Record, Register, SheetInfo


class NoFindings:
    """A validation report with no findings (the bench measures rendering, not validation)."""

    def errors_by_row(self) -> dict:
        return {}

    def column_errors(self) -> list:
        return []


def make_register(n: int) -> Register:
    records = []
    for i in range(n):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 330)
        records.append(Record("台账", i + 3, {
            "complaint_id": f"KS-2026-{i + 1:05d}", "received_on": day, "channel": "电话",
            "customer_name": f"客户{i}", "customer_phone": "13800138000", "product": "中华（软）",
            "batch_no": f"B{i:06d}", "respondent": "人民路店", "category": "产品质量",
            "description": f"顾客反映第 {i} 号订单包装破损 & 受潮。\n要求更换。", "nature": "咨询型",
            "severity": "C", "special": "否", "department": "客服部", "handler": "王芳",
            "immediate_action": "电话致歉", "resolution": "已更换", "compensation": 0,
            "followup_done": day + dt.timedelta(days=3), "satisfaction": "满意", "status": "已结案",
            "closed_on": day + dt.timedelta(days=4),
        }))
    return Register("bench.xlsx", "", 0, [SheetInfo("台账", 2, {}, [])], records)


def floor(template: Path, register: Register, out: Path) -> None:
    """The least any generator can do: substitute a few strings, write the zip."""
    with zipfile.ZipFile(template) as package:
        parts = [(info.filename, package.read(info)) for info in package.infolist()]
    document = dict(parts)["word/document.xml"].decode("utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for record in register.records:
        xml = (document.replace("{{ complaint_id }}", record.complaint_id)
               .replace("{{ customer_name }}", str(record.values["customer_name"]))
               .replace("{{ description }}", str(record.values["description"]))
               .replace("{{ received_on }}", str(record.values["received_on"])))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for name, data in parts:
                target.writestr(name, xml.encode("utf-8") if name == "word/document.xml" else data)
        (out / f"{record.complaint_id}.docx").write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0, help="[documents].workers (0 = per core)")
    args = parser.parse_args()
    register = make_register(args.n)
    config = Config()
    config.documents.workers = args.workers
    template = template_path(config, FEEDBACK)
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        _, floor_s = timed(lambda: floor(template, register, Path(tmp) / "floor"))
        result, seconds = timed(lambda: generate(register, NoFindings(), config, today=dt.date(2026, 11, 23),
                                                 out_dir=Path(tmp) / "docs"))
        assert result.counts["created"] == args.n, result.counts
        _, again_s = timed(lambda: generate(register, NoFindings(), config, today=dt.date(2026, 11, 23),
                                            out_dir=Path(tmp) / "docs"))
    print(f"forms:            {args.n} (workers={args.workers or 'per core'})")
    print(f"generate:         {seconds:.2f} s, {args.n / seconds:.0f} docs/s, {1000 * seconds / args.n:.1f} ms/doc")
    print(f"floor:            {floor_s:.2f} s, {args.n / floor_s:.0f} docs/s, {1000 * floor_s / args.n:.1f} ms/doc")
    print(f"ratio:            {seconds / floor_s:.2f}x the floor")
    print(f"second run:       {again_s:.2f} s (all unchanged, nothing written)")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS:         {peak_rss_mb():.0f} MB (this process), {children:.0f} MB (largest worker)")


if __name__ == "__main__":
    main()
