"""A real local HTTP server speaking the OpenAI chat-completions protocol, for the LLM annotators.

Its behaviour is scripted by model name (the part before any ``-``): ``good`` answers a valid
``api`` label, ``disagree`` a valid ``data-access`` one, ``garbage`` prose, ``flaky`` two 429s then
a valid answer, ``broken`` a 500, ``slow`` sleeps past the client timeout. Requests go through the
real ``openai`` client, exactly as against a paid API.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {"category": "api", "intent": "Serve a user.", "instruction": "Write a GET /users route."}


class FakeOpenAI(ThreadingHTTPServer):
    """Counts hits per model and the peak number of requests in flight."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.peak = 0
        self.keys: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model, server = body["model"], self.server
        with server.lock:
            server.hits[model] += 1
            hit = server.hits[model]
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
            server.keys.add(self.headers.get("Authorization", ""))
        try:
            self._answer(model.split("-")[0], hit, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer
        finally:
            with server.lock:
                server.in_flight -= 1

    def _answer(self, behaviour: str, hit: int, body: dict) -> None:
        time.sleep(0.02)  # long enough for requests to overlap
        if behaviour == "flaky" and hit <= 2:
            return self._send(429, {"error": {"message": "slow down", "type": "rate_limit"}})
        if behaviour == "broken":
            return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
        if behaviour == "slow":
            time.sleep(1.0)
        content = {
            "garbage": "Sure! This code is probably an API handler.",
            "disagree": json.dumps({**GOOD, "category": "data-access"}),
        }.get(behaviour, json.dumps(GOOD))
        assert body["temperature"] == 0
        self._send(
            200,
            {
                "id": f"chatcmpl-{hit}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            },
        )

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
