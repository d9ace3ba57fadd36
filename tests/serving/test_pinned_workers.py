"""Worker i on CPU i with its own socket, and connections steered to the worker on their CPU:
the sockets alone, then ``mlwb serve --workers N --pin-workers`` (N = this machine's CPUs) as a
real process: a client on one CPU spread by hand-overs, and a worker killed and replaced in
its slot."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from mlworkbench.serving.pinned_workers import cpu_sockets, pinnable_cpus

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
needs_cpus = pytest.mark.skipif(len(CPUS) < 2 or list(range(len(CPUS))) != CPUS,
                                reason="needs CPUs 0..N-1, N >= 2, all usable here")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connect_from(cpu: int, port: int) -> socket.socket:
    """A connection opened by a thread running on ``cpu`` only."""
    made: list[socket.socket] = []

    def pinned() -> None:
        os.sched_setaffinity(0, {cpu})  # this thread only
        made.append(socket.create_connection(("127.0.0.1", port), timeout=10))

    thread = threading.Thread(target=pinned)
    thread.start()
    thread.join()
    return made[0]


def test_only_exactly_the_cpus_numbered_from_zero_are_pinnable() -> None:
    code = ("from mlworkbench.serving.pinned_workers import pinnable_cpus as p;"
            "print(p(1), p(2), p(3))")
    if len(CPUS) >= 2:
        allowed_zero_one = subprocess.run(["taskset", "-c", "0,1", sys.executable, "-c", code],
                                          capture_output=True, text=True, check=True).stdout
        assert allowed_zero_one.split() == ["None", "[0,", "1]", "None"]
        allowed_one = subprocess.run(["taskset", "-c", "1", sys.executable, "-c", code],
                                     capture_output=True, text=True, check=True).stdout
        assert allowed_one.split() == ["None", "None", "None"]  # CPU 1 alone is not 0..0
    assert pinnable_cpus(len(CPUS) + 1) is None


@needs_cpus
def test_a_connection_is_accepted_by_the_socket_of_the_cpu_it_came_from() -> None:
    port = free_port()
    sockets = cpu_sockets("127.0.0.1", port, len(CPUS), 16)
    clients: list[socket.socket] = []
    try:
        for sock in sockets:
            sock.settimeout(5)
        for _ in range(3):
            for cpu in reversed(CPUS):
                clients.append(connect_from(cpu, port))
                accepted, _ = sockets[cpu].accept()  # waits at most 5 s: it must be this one
                accepted.close()
        for sock in sockets:  # nothing went anywhere else
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.accept()
    finally:
        for sock in [*sockets, *clients]:
            sock.close()


def test_a_port_in_use_is_refused_not_shared() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(OSError):  # no reuse
        cpu_sockets("127.0.0.1", taken.getsockname()[1], 2, 16)


def _workers(parent: int) -> dict[int, int]:
    """Worker pid -> the one CPU it may run on (multiprocessing's helpers have no socket)."""
    found = {}
    for pid in map(int, subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)],
                                       capture_output=True, text=True).stdout.split()):
        status = Path(f"/proc/{pid}/status").read_text()
        cpus = re.search(r"Cpus_allowed_list:\s*(\S+)", status).group(1)
        if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text() and cpus.isdigit():
            found[pid] = int(cpus)
    return found


def _owner(client: socket.socket, pids: list[int]) -> int:
    """The process holding the server's end of ``client``'s connection (/proc/net/tcp)."""
    local = client.getsockname()[1]
    server_port = client.getpeername()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].split(":")[1], 16) == server_port
                and int(fields[2].split(":")[1], 16) == local):
            inode = fields[9]
    assert inode is not None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def _answered_by_cpu(port: int, workers: dict[int, int]) -> None:
    """A client on each CPU is answered, over a connection its CPU's worker holds."""
    for cpu in CPUS:
        client = connect_from(cpu, port)
        try:
            client.sendall(b"GET /ready HTTP/1.1\r\nHost: test\r\n\r\n")
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
            owner = _owner(client, list(workers))
            assert workers[owner] == cpu, (owner, workers)
        finally:
            client.close()


def _one_cpu_client_is_spread(port: int, workers: dict[int, int]) -> None:
    """Eight keep-alive connections all opened from CPU 0 (so all steered to its worker) are
    spread over every worker by hand-overs between requests, and every answer on every
    connection is the one asked for, before and after its connection moved."""
    clients = [connect_from(CPUS[0], port) for _ in range(8)]
    try:
        for round_no in range(6):
            for number, client in enumerate(clients):
                user = 1 + number + 8 * round_no
                body = b'{"users":[%d],"k":3}' % user
                client.sendall(b"POST /recommendations HTTP/1.1\r\nHost: test\r\n"
                               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                               % (len(body), body))
                answer = _read_response(client)
                assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
                assert b'"user":%d,' % user in answer, answer[-300:]
        owners = [workers[_owner(client, list(workers))] for client in clients]
        per_cpu = [owners.count(cpu) for cpu in CPUS]
        assert max(per_cpu) - min(per_cpu) <= 1, per_cpu
    finally:
        for client in clients:
            client.close()


def _read_response(client: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (headers, then Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = client.recv(65536)
        assert chunk, data
        body += chunk
    assert len(body) == length  # nothing of a next response: one request at a time
    return head + b"\r\n\r\n" + body


@needs_cpus
def test_mlwb_serve_pins_its_workers_and_replaces_a_dead_one_in_its_slot(trained,
                                                                         tmp_path) -> None:
    settings, _ = trained
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1",
               MLWB_DATABASE_URL=f"sqlite:///{tmp_path / 'log.db'}")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).with_name("mlwb")), "serve",
                                "models:/movielens-recommender@champion", "--port", str(port),
                                "--workers", str(len(CPUS)), "--pin-workers"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)

    def ready(count: int) -> dict[int, int]:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            workers = _workers(process.pid)
            try:
                if (len(workers) == count and sorted(workers.values()) == CPUS
                        and httpx.get(f"http://127.0.0.1:{port}/ready",
                                      timeout=1).status_code == 200):
                    _answered_by_cpu(port, workers)  # every worker up: each CPU answers
                    return workers
            except (httpx.TransportError, ConnectionError, AssertionError):
                pass
            assert time.monotonic() < deadline, (workers, (tmp_path / "serve.log").read_text())
            time.sleep(0.3)

    try:
        workers = ready(len(CPUS))
        listening = subprocess.run(["ss", "-tlnpH", f"( sport = :{port} )"],
                                   capture_output=True, text=True).stdout.splitlines()
        assert len(listening) == len(CPUS)  # a socket each
        _one_cpu_client_is_spread(port, workers)
        victim = next(pid for pid, cpu in workers.items() if cpu == CPUS[-1])
        os.kill(victim, signal.SIGKILL)
        replaced = ready(len(CPUS))
        assert victim not in replaced
        _answered_by_cpu(port, replaced)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
    assert "worker i on CPU i" in (tmp_path / "serve.log").read_text()


@needs_cpus
def test_mlwb_serve_on_a_port_in_use_says_so_in_one_line(trained, tmp_path) -> None:
    settings, _ = trained
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1")
    before = set(settings.home.glob("prometheus-*"))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        done = subprocess.run([str(Path(sys.executable).with_name("mlwb")), "serve",
                               "models:/movielens-recommender@champion", "--port",
                               str(taken.getsockname()[1]), "--workers", str(len(CPUS)),
                               "--pin-workers"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cannot listen on 127.0.0.1:" in done.stdout and "Traceback" not in done.stderr
    assert set(settings.home.glob("prometheus-*")) == before  # its metrics folder went too
