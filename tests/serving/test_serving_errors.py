"""Every error answer carries the request id (the client's own, when usable) and the served
model's headers; a body over MLWB_MAX_BODY_BYTES is refused with 413 before it is read."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from mlworkbench.serving.app import build_app
from mlworkbench.serving.recommender import SERVED

CHAMPION = "models:/movielens-recommender@champion"

ERRORS = [
    ("POST", "/recommendations", {"json": {"users": [1], "k": 0}}, 422),
    ("POST", "/recommendations", {"json": {"users": list(range(51))}}, 413),
    ("POST", "/recommendations",
     {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
    ("GET", "/users/abc/recommendations", {}, 422),
    ("GET", "/items/99999999/similar", {}, 404),
    ("GET", "/no/such/route", {}, 404),
    ("DELETE", "/model", {}, 405),
    ("POST", "/admin/reload", {}, 401),
    ("GET", "/users/1/recommendations?source=precomputed&exclude_seen=false", {}, 422),
]


@pytest.mark.parametrize(("method", "url", "extra", "status"), ERRORS)
def test_every_error_names_the_request_and_the_model(client, method, url, extra, status) -> None:
    headers = {"X-Request-ID": "client-id-123", **extra.get("headers", {})}
    rest = {key: value for key, value in extra.items() if key != "headers"}
    response = client.request(method, url, headers=headers, **rest)
    assert response.status_code == status, response.text
    assert response.headers["X-Request-ID"] == "client-id-123"
    assert response.headers["X-Model-Name"] == "movielens-recommender"
    assert response.headers["X-Model-Version"] == "1"
    body = response.json()
    assert set(body) == {"detail", "field"} and body["field"], body  # every 4xx names its field


@pytest.mark.parametrize("given", ["x" * 65, "bad\u0007id", ""])
def test_an_unusable_request_id_is_replaced_not_echoed(client, given) -> None:
    for url in ("/users/1/recommendations", "/users/1/recommendations?k=0"):
        response = client.get(url, headers={"X-Request-ID": given})
        chosen = response.headers["X-Request-ID"]
        assert chosen != given and len(chosen) == 32 and chosen.isalnum()


@pytest.fixture(scope="module")
def live_server(serving_settings):
    """The app under real uvicorn (bodies arrive as the network sends them)."""
    app = build_app(CHAMPION, SERVED, serving_settings.model_copy(
        update={"max_body_bytes": 64 * 1024, "max_batch_users": 10_000}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", port
    server.should_exit = True
    thread.join(10)


def test_a_declared_oversize_body_is_refused_before_it_is_sent(live_server) -> None:
    base, port = live_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /recommendations HTTP/1.1\r\nHost: x\r\nX-Request-ID: big-1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n")
        answer = sock.recv(65536).decode()  # not one byte of the 50 MB body was sent
    head = answer.lower()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "x-request-id: big-1" in head and "x-model-version: 1" in head
    assert '"field":"body"' in answer and "MLWB_MAX_BODY_BYTES" in answer
    assert httpx.get(f"{base}/health", timeout=2).status_code == 200


def test_a_chunked_oversize_body_is_cut_at_the_limit(live_server) -> None:
    base, port = live_server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /recommendations HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        part = b'{"users": [' + b"1," * 8_000
        for _ in range(10):  # 160 KB, over the 64 KiB limit; the body never ends
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            part = b"1," * 8_000
        answer = sock.recv(65536).decode()
    head = answer.lower()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"field":"body"' in answer and "x-model-name: movielens-recommender" in head
    assert "x-request-id: " in head
    assert httpx.get(f"{base}/health", timeout=2).status_code == 200
