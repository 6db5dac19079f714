"""Bench: reminders through the delivery stage, each against a floor measured in the same run.

    python bench/remind.py [--complaints 10000] [--handlers 1000] [--groups 1000] [--rows 100000]

1. **SMTP**: plan 10,000 open complaints (ten per handler, so one digest per handler) and send
   1,000 digests over one SMTP session to aiosmtpd's Sink handler in its own process on
   127.0.0.1. Floor: bare smtplib ``sendmail`` of the same messages, composed beforehand, over
   one session. The toolkit's figure includes composing each digest, the ledger look-up
   before and the ledger commit (one transaction) after each message. Target: at most 2x.
2. **Group robots**: 1,000 group messages (one per department group) to the local WeCom
   stand-in (tests/robot_server.py, its own process). Floors: bare ``urllib.request`` posts of
   the same JSON payloads (a new connection each, as urllib does), and bare ``http.client``
   posts over one kept-alive connection (what the toolkit itself does).
3. **Nothing to send** at ``--rows`` (100,000) rows of the synthetic register
   (bench/make_register.py): the daily run's reminders stage once everything was sent —
   planning plus asking the ledger. Target: at most 0.5 s.

Each timing is the best of ``--rounds`` alternating rounds (the machine may be busy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._floor import peak_rss_mb, timed  # noqa: E402
from toolkit.config import config_from_dict  # noqa: E402
from toolkit.model import Record  # noqa: E402
from toolkit.notify import send_reminders  # noqa: E402
from toolkit.notify.email import EmailChannel  # noqa: E402
from toolkit.notify.wecom import WecomChannel  # noqa: E402
from toolkit.reminders import plan_reminders  # noqa: E402
from toolkit.state import Ledger  # noqa: E402

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def make_records(complaints: int, handlers: int, departments: int = 1) -> list[Record]:
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
            "department": f"部门{i % departments}" if departments > 1 else "客服部",
            "handler": f"负责人{h}",
            "handler_email": f"handler{h:04d}@example.com",
            "respondent": "人民路店",
            "description": "烟支破损，包装内有碎屑，客户要求更换",
            "reply_due": TODAY - dt.timedelta(days=1 + i % 5),
            "status": "待处理",
        }))
    return records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the {what} did not start")


def bench_smtp(args: argparse.Namespace, tmp: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, server, "aiosmtpd server")
        config = config_from_dict({
            "mail": {"transport": "smtp", "host": "127.0.0.1", "port": port},
            "state": {"path": str(tmp / "state.sqlite")},
            # Keep every item at level 1 so there is exactly one digest per handler.
            "reminders": {"level2_after": 10_000, "level3_after": 10_000},
        })
        records = make_records(args.complaints, args.handlers)
        plan, plan_s = timed(lambda: plan_reminders(records, config, TODAY))
        digests = len(plan.digests)

        # Floor: the same messages, composed beforehand, through bare smtplib.
        with Ledger(tmp / "empty.sqlite") as empty:
            prebuilt = [out.payload for out in EmailChannel(config, NOW).outgoing(plan, empty, 1)]
        sender = config.mail.sender

        def bare() -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                for to, data in prebuilt:
                    smtp.sendmail(sender, to, data)

        floor_s = send_s = floor_cpu = send_cpu = float("inf")
        for round_no in range(args.rounds):
            cpu = time.process_time()
            floor_s = min(floor_s, timed(bare)[1])
            floor_cpu = min(floor_cpu, time.process_time() - cpu)
            config.state.path = str(tmp / f"state-{round_no}.sqlite")
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

    print("SMTP:")
    print(f"  complaints planned:   {args.complaints:,} ({len(plan.items):,} items) in {plan_s:.2f} s")
    print(f"  digests sent:         {digests:,} in {send_s:.2f} s = {digests / send_s:,.0f} msgs/s "
          f"(compose + SMTP + ledger commit each)")
    print(f"  floor (bare smtplib): {digests:,} in {floor_s:.2f} s = {digests / floor_s:,.0f} msgs/s")
    print(f"  ratio:                {send_s / floor_s:.2f}x the floor (target <= 2x)")
    print(f"  sender CPU:           toolkit {send_cpu:.2f} s, floor {floor_cpu:.2f} s "
          f"(composing + ledger cost {1000 * (send_cpu - floor_cpu) / digests:.2f} ms CPU per digest)")
    print(f"  rerun (all already sent): {rerun_s:.2f} s")


def bench_robots(args: argparse.Namespace, tmp: Path) -> None:
    port = free_port()
    keys = [f"key{g:04d}" for g in range(args.groups)]
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "robot_server.py"), "--port", str(port),
                               "--wecom", *keys], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, server, "robot server")
        departments = {}
        for g, key in enumerate(keys):
            env = f"BENCH_WECOM_{g:04d}"
            os.environ[env] = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={key}"
            departments[f"部门{g}"] = {"wecom_webhook_env": env}
        config = config_from_dict({
            "notify": {"channels": ["wecom"]},
            "wecom": {"webhook_env": "BENCH_WECOM_0000", "per_minute": 0},
            "departments": departments,
            "state": {"path": str(tmp / "robots.sqlite")},
            "reminders": {"level2_after": 10_000, "level3_after": 10_000},
        })
        records = make_records(args.groups * 3, args.groups, departments=args.groups)
        plan = plan_reminders(records, config, TODAY)
        with Ledger(tmp / "robots-empty.sqlite") as empty:
            prebuilt = []
            for out in WecomChannel(config, NOW).outgoing(plan, empty, 1):
                group, bodies = out.payload
                for body in bodies:
                    prebuilt.append((os.environ[group.destination],
                                     json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()))
        messages = len(prebuilt)

        def bare_urllib() -> None:
            for url, data in prebuilt:
                request = urllib.request.Request(url, data=data, headers={
                    "Content-Type": "application/json; charset=utf-8"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    json.loads(response.read())

        def bare_keepalive() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for url, data in prebuilt:
                target = url.split(str(port), 1)[1]
                conn.request("POST", target, body=data, headers={
                    "Content-Type": "application/json; charset=utf-8"})
                json.loads(conn.getresponse().read())
            conn.close()

        urllib_s = keep_s = send_s = float("inf")
        for round_no in range(args.rounds):
            urllib_s = min(urllib_s, timed(bare_urllib)[1])
            keep_s = min(keep_s, timed(bare_keepalive)[1])
            config.state.path = str(tmp / f"robots-{round_no}.sqlite")
            result, seconds = timed(lambda: send_reminders(plan, config, now=NOW))
            assert result.sent == messages and result.failed == 0, result.to_text("en")[-2000:]
            send_s = min(send_s, seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("Group robots (WeCom stand-in):")
    print(f"  group messages sent:  {messages:,} in {send_s:.2f} s = {messages / send_s:,.0f} msgs/s "
          f"(compose + sign + POST + ledger commit each)")
    print(f"  floor (bare urllib):  {messages:,} in {urllib_s:.2f} s; ratio {send_s / urllib_s:.2f}x")
    print(f"  floor (bare http.client, kept-alive): {keep_s:.2f} s; ratio {send_s / keep_s:.2f}x")


def bench_nothing_to_send(args: argparse.Namespace, tmp: Path) -> None:
    from bench.make_register import make_register
    from toolkit.register import read_register

    folder = Path(os.environ.get("TOOLKIT_BENCH_DIR", "/tmp/complaint-toolkit-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    register = folder / f"register-{args.rows}.xlsx"
    if not register.exists():
        make_register(args.rows, register)
    config = config_from_dict({
        "register": {"path": str(register)},
        "output": {"dir": str(tmp / "out")},
        "reminders": {"quality_manager": "quality.manager@example.com"},
    })
    records = read_register(config).records
    first = send_reminders(plan_reminders(records, config, TODAY), config, now=NOW)
    best = plan_best = cpu_best = float("inf")
    for _ in range(max(args.rounds, 3)):
        start, cpu = time.perf_counter(), time.process_time()
        plan = plan_reminders(records, config, TODAY)
        planned = time.perf_counter() - start
        result = send_reminders(plan, config, now=NOW)
        total = time.perf_counter() - start
        cpu_best = min(cpu_best, time.process_time() - cpu)
        assert result.sent == 0 and result.already_sent == first.sent, result.to_text("en")[-500:]
        best, plan_best = min(best, total), min(plan_best, planned)
    print(f"Nothing to send ({args.rows:,} rows, {len(plan.items):,} items in {first.sent} digests "
          f"already sent):")
    print(f"  reminders stage:      {best:.2f} s (planning {plan_best:.2f} s, ledger and compare "
          f"{best - plan_best:.2f} s), {cpu_best:.2f} s of CPU; target <= 0.5 s = {best / 0.5:.2f}x the target")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--handlers", type=int, default=1_000)
    parser.add_argument("--groups", type=int, default=1_000, help="group messages to the robot stand-in")
    parser.add_argument("--rows", type=int, default=100_000, help="register rows for 'nothing to send'")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best counts")
    parser.add_argument("--only", choices=("smtp", "robots", "idle"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.only in (None, "smtp"):
            bench_smtp(args, tmp)
        if args.only in (None, "robots"):
            bench_robots(args, tmp)
        if args.only in (None, "idle"):
            bench_nothing_to_send(args, tmp)
    print(f"peak memory {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
