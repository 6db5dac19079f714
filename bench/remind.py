"""Bench: plan reminders for 10,000 open complaints and send 1,000 digests over one SMTP session.

    python bench/remind.py [--complaints 10000] [--handlers 1000]

The complaints are built in memory (every one open with an overdue reply; ten per handler, so
one digest per handler). The server is aiosmtpd's Sink handler in its own process on
127.0.0.1, so it does not compete with the sender for the GIL.

The *floor* is bare smtplib: the same 1,000 messages, composed beforehand, sent with
``sendmail`` over one session to the same server in the same run. The toolkit's figure
includes composing each digest, the ledger look-up before and the ledger write (one
transaction) after each message. Target: at most 2x the floor. Both are run a few times,
alternating, and the best time of each counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._floor import peak_rss_mb, timed
from toolkit.config import config_from_dict
from toolkit.mail import compose, send_reminders, sender_address
from toolkit.model import Record
from toolkit.reminders import plan_reminders

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def make_records(complaints: int, handlers: int) -> list[Record]:
    records = []
    for i in range(complaints):
        h = i % handlers
        records.append(Record("台账", i + 3, {
            "complaint_id": f"KS-2026-{i:05d}",
            "received_on": TODAY - dt.timedelta(days=10 + i % 20),
            "customer_name": f"客户{i}",
            "customer_phone": f"138{i:08d}",
            "severity": "ABC"[i % 3],
            "special": "否",
            "department": "客服部",
            "handler": f"负责人{h}",
            "handler_email": f"handler{h:04d}@example.com",
            "reply_due": TODAY - dt.timedelta(days=1 + i % 5),
            "status": "待处理",
        }))
    return records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the aiosmtpd server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--handlers", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best counts")
    args = parser.parse_args()

    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = config_from_dict({
                "mail": {"transport": "smtp", "host": "127.0.0.1", "port": port},
                "state": {"path": str(Path(tmp) / "state.sqlite")},
                # Keep every item at level 1 so there is exactly one digest per handler.
                "reminders": {"level2_after": 10_000, "level3_after": 10_000},
            })
            records = make_records(args.complaints, args.handlers)
            plan, plan_s = timed(lambda: plan_reminders(records, config, TODAY))
            digests = len(plan.digests)

            # Floor: the same messages, composed beforehand, through bare smtplib.
            sender = sender_address(config.mail, config.language)
            prebuilt = [(d.to, compose(d, d.items, d.cannot_remind, sender=sender, today=TODAY, now=NOW,
                                       language=config.language).as_bytes()) for d in plan.digests]

            def bare() -> None:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                    for to, data in prebuilt:
                        smtp.sendmail(sender.addr_spec, to, data)

            # Best of a few alternating rounds: the machine may be busy with other work.
            floor_s = send_s = floor_cpu = send_cpu = float("inf")
            for round_no in range(args.rounds):
                cpu = time.process_time()
                floor_s = min(floor_s, timed(bare)[1])
                floor_cpu = min(floor_cpu, time.process_time() - cpu)
                config.state.path = str(Path(tmp) / f"state-{round_no}.sqlite")
                cpu = time.process_time()
                result, seconds = timed(lambda: send_reminders(plan, config, now=NOW))
                send_cpu = min(send_cpu, time.process_time() - cpu)
                assert result.sent == digests and result.failed == 0, result.to_text("en")
                send_s = min(send_s, seconds)
            rerun, rerun_s = timed(lambda: send_reminders(plan, config, now=NOW))
            assert rerun.already_sent == digests
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"complaints planned:   {args.complaints:,} ({len(plan.items):,} items) in {plan_s:.2f} s")
    print(f"digests sent:         {digests:,} in {send_s:.2f} s = {digests / send_s:,.0f} msgs/s "
          f"(compose + SMTP + ledger)")
    print(f"floor (bare smtplib): {digests:,} in {floor_s:.2f} s = {digests / floor_s:,.0f} msgs/s")
    print(f"ratio:                {send_s / floor_s:.2f}x the floor (target <= 2x)")
    print(f"sender CPU:           toolkit {send_cpu:.2f} s, floor {floor_cpu:.2f} s "
          f"(composing costs {1000 * (send_cpu - floor_cpu) / digests:.2f} ms CPU per digest)")
    print(f"rerun (all already sent): {rerun_s:.2f} s; peak memory {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
