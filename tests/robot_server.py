"""A local HTTP server on 127.0.0.1 that behaves as the WeCom, DingTalk and Feishu group-robot
APIs do (../shared/ROBOTS.md), for tests and benches.

>>> with RobotServer(wecom={"KEY1"}, dingtalk={"TOKEN1": "SEC1"}, feishu={"HOOK1": "S1"}) as s:
...     os.environ["TOOLKIT_WECOM_WEBHOOK"] = s.url("wecom", "KEY1")      # doctest: +SKIP
...     s.received[0].body

What it checks, as the real APIs do: the robot's key/token/hook id; DingTalk's 加签 (HMAC-SHA256
of "timestamp\\nsecret", timestamp in ms in the URL, within an hour) and Feishu's 签名校验 (key
"timestamp\\nsecret", timestamp in seconds in the body); size limits (WeCom markdown 4,096 bytes,
text 2,048; DingTalk 5,000 characters; Feishu bodies 20 KB); a required keyword. What it can
be told to do: rate-limit (``rate_limit=(n, seconds)`` per robot, answered with 45009, 130101 or
11232), answer the next requests with HTTP errors (``fail_next``) or with given JSON replies
(``reply_next``, HTTP 200, the message not taken), answer slowly (``delay_next``: the request
is handled, and counted by the rate limit, after the delay),
or stop listening (``stop()``) and come back (``start()``) on the same port.

Run as a script for the bench (its own process, so it does not compete with the sender):
``python tests/robot_server.py --port 8080 --wecom KEY``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
FEISHU_PREFIX = "/open-apis/bot/v2/hook/"


@dataclass
class Received:
    """One request the server accepted (errcode 0)."""

    api: str  # wecom | dingtalk | feishu
    robot: str  # the key, token or hook id
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        """The message's text, whatever the API's shape."""
        b = self.body
        if self.api == "wecom":
            return b.get("markdown", b.get("text", {})).get("content", "")
        if self.api == "dingtalk":
            return b.get("markdown", {}).get("text", "") or b.get("text", {}).get("content", "")
        elements = b.get("card", {}).get("elements", [])
        return "".join(e.get("text", {}).get("content", "") for e in elements) or \
            b.get("content", {}).get("text", "")


class RobotServer:
    """The three robot APIs on one loopback port."""

    def __init__(self, *, wecom: set[str] | None = None, dingtalk: dict[str, str | None] | None = None,
                 feishu: dict[str, str | None] | None = None, keyword: str = "",
                 rate_limit: tuple[int, float] | None = None, port: int = 0) -> None:
        self.wecom = set(wecom or ())
        self.dingtalk = dict(dingtalk or {})
        self.feishu = dict(feishu or {})
        self.keyword = keyword
        self.rate_limit = rate_limit
        self.received: list[Received] = []
        self.refused: list[tuple[str, int]] = []  # (api, code) of every request answered with an error
        self.fail_next: list[int] = []
        self.delay_next: list[float] = []
        self.reply_next: list[dict[str, Any]] = []
        #: Hang up on the next N requests that come on a kept-alive connection, unread and
        #: unanswered: a server closing an idle connection just as the client reuses it.
        self.hang_up_next = 0
        self.requests = 0
        self._windows: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    def url(self, api: str, robot: str) -> str:
        base = f"http://127.0.0.1:{self._port}"
        if api == "wecom":
            return f"{base}{WECOM_PATH}?key={robot}"
        if api == "dingtalk":
            return f"{base}{DINGTALK_PATH}?access_token={robot}"
        return f"{base}{FEISHU_PREFIX}{robot}"

    def start(self) -> RobotServer:
        server = self

        class Handler(_Handler):
            robots = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> RobotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the APIs -------------------------------------------------------------------------

    def _limited(self, robot: str) -> bool:
        if self.rate_limit is None:
            return False
        n, window = self.rate_limit
        now = time.monotonic()
        times = [t for t in self._windows.get(robot, []) if now - t < window]
        self._windows[robot] = times
        if len(times) >= n:
            return True
        times.append(now)
        return False

    def handle(self, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        """The JSON reply to one POST (HTTP 200)."""
        with self._lock:
            if path == WECOM_PATH:
                return self._wecom(query, body)
            if path == DINGTALK_PATH:
                return self._dingtalk(query, body)
            if path.startswith(FEISHU_PREFIX):
                return self._feishu(path[len(FEISHU_PREFIX):], body)
            return {"errcode": 404, "errmsg": "not found"}

    def _refuse(self, api: str, reply: dict[str, Any]) -> dict[str, Any]:
        self.refused.append((api, int(reply.get("errcode", reply.get("code", -1)))))
        return reply

    def _wecom(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        key = query.get("key", "")
        if key not in self.wecom:
            return self._refuse("wecom", {"errcode": 93000, "errmsg": "invalid webhook url, hint: [x]"})
        kind = body.get("msgtype") if isinstance(body, dict) else None
        if kind not in ("markdown", "text"):
            return self._refuse("wecom", {"errcode": 40008, "errmsg": "invalid message type"})
        content = body[kind].get("content", "")
        if len(content.encode()) > (4096 if kind == "markdown" else 2048):
            return self._refuse("wecom", {"errcode": 40058, "errmsg": f"{kind}.content exceed max length"})
        if self._limited(f"wecom:{key}"):
            return self._refuse("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"})
        self.received.append(Received("wecom", key, body))
        return {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        token = query.get("access_token", "")
        if token not in self.dingtalk:
            return self._refuse("dingtalk", {"errcode": 300001, "errmsg": "token is not exist"})
        secret = self.dingtalk[token]
        if secret:
            try:
                stamp = int(query.get("timestamp", ""))
            except ValueError:
                return self._refuse("dingtalk", {"errcode": 310000, "errmsg": "sign not match"})
            digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
            if query.get("sign") != base64.b64encode(digest).decode() or abs(time.time() * 1000 - stamp) > 3600_000:
                return self._refuse("dingtalk", {"errcode": 310000, "errmsg": "sign not match"})
        text = body.get("markdown", {}).get("text", "") or body.get("text", {}).get("content", "")
        if self.keyword and self.keyword not in text:
            return self._refuse("dingtalk", {"errcode": 310000, "errmsg": "keywords not in content"})
        if len(text) > 5000:
            return self._refuse("dingtalk", {"errcode": 460101, "errmsg": "message too long"})
        if self._limited(f"dingtalk:{token}"):
            return self._refuse("dingtalk", {"errcode": 130101,
                                             "errmsg": "send too fast, exceed 20 times per minute"})
        self.received.append(Received("dingtalk", token, body))
        return {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, hook: str, body: Any) -> dict[str, Any]:
        if hook not in self.feishu:
            return self._refuse("feishu", {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"})
        secret = self.feishu[hook]
        if secret:
            stamp = str(body.get("timestamp", ""))
            key = f"{stamp}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if not stamp.isdigit() or body.get("sign") != expected or abs(time.time() - int(stamp)) > 3600:
                return self._refuse("feishu", {"code": 19021, "msg": "sign match fail or timestamp is not "
                                                                     "within one hour from current time"})
        received = Received("feishu", hook, body)
        if self.keyword and self.keyword not in json.dumps(body, ensure_ascii=False):
            return self._refuse("feishu", {"code": 19024, "msg": "Key Words Not Found"})
        if self._limited(f"feishu:{hook}"):
            return self._refuse("feishu", {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"})
        self.received.append(received)
        return {"code": 0, "msg": "success", "data": {}, "StatusCode": 0, "StatusMessage": "success"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    # Headers and body are written separately: without this, Nagle and the client's delayed
    # ACK hold every kept-alive reply back 40 ms, which no real API server does.
    disable_nagle_algorithm = True
    robots: RobotServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # A slow answer (delay_next) to a client that stopped waiting, as a real server
            # sees it: nothing to report.
            self.close_connection = True

    def do_POST(self) -> None:
        robots = self.robots
        served = getattr(self, "_served", 0)
        self._served = served + 1
        with robots._lock:
            hang_up = served > 0 and robots.hang_up_next > 0
            if hang_up:
                robots.hang_up_next -= 1
        if hang_up:
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        with robots._lock:
            robots.requests += 1
            delay = robots.delay_next.pop(0) if robots.delay_next else 0.0
            status = robots.fail_next.pop(0) if robots.fail_next else 200
            canned = robots.reply_next.pop(0) if robots.reply_next and status == 200 else None
        if delay:
            time.sleep(delay)
        if status != 200:
            self._reply(status, b'{"errcode":-1,"errmsg":"system busy"}')
            return
        if canned is not None:
            with robots._lock:
                robots.refused.append(("canned", int(canned.get("errcode", canned.get("code", -1)))))
            self._reply(200, json.dumps(canned, ensure_ascii=False).encode())
            return
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        if parsed.path.startswith(FEISHU_PREFIX) and length > 20 * 1024:
            self._reply(400, b'{"code":9499,"msg":"Bad Request","data":{}}')
            return
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._reply(400, b'{"errcode":40001,"errmsg":"invalid json"}')
            return
        reply = robots.handle(parsed.path, query, body)
        self._reply(200, json.dumps(reply, ensure_ascii=False).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description="robot API stand-in on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--wecom", nargs="*", default=[])
    parser.add_argument("--dingtalk", nargs="*", default=[], help="TOKEN=SECRET")
    parser.add_argument("--feishu", nargs="*", default=[], help="HOOK=SECRET")
    args = parser.parse_args()
    server = RobotServer(wecom=set(args.wecom),
                         dingtalk=dict(a.split("=", 1) for a in args.dingtalk),
                         feishu=dict(a.split("=", 1) for a in args.feishu), port=args.port)
    server.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
