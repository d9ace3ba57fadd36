"""``mlwb serve --workers N``, N = the CPUs: worker i listens on its own socket and runs on
CPU i, a connection goes to the worker on the CPU that took it in, and the workers keep their
connections even (serving/worker_balance.py).

With one listening socket shared by every worker (uvicorn's way; ``--no-pin-workers``), a new
connection goes to whichever worker accepts first, so a client thread's connections, and
every request on them, are spread over workers on other cores than its own: an answer wakes
a process on another core, which on a virtual machine costs an interrupt between processors
and an exit to the hypervisor, in the server and in the client. `benchmarks/serving.py
--family workers` measures both ways against one worker.

When the workers are exactly as many as the CPUs this process may use, numbered 0..N-1
(and MLWB_SERVE_PIN_WORKERS is not false), :func:`cpu_sockets` opens N sockets on the address
with SO_REUSEPORT and gives the group a classic BPF program that picks socket (CPU the
connection arrived on) mod N, and :class:`PinnedWorkers` (uvicorn's supervisor) hands
worker i socket i and pins it to CPU i, a replacement taking the same slot. A local client's
connections go to the worker on the core it connected from; a network card's, to the worker
on its receive queue's core. The steering knows CPUs, not load: a client whose connections
all come from one CPU would have every one on one worker, so a worker holding two more than
another hands connections over between requests until they are even. While a worker is
being replaced, connections that arrive on its CPU (or are handed to it) wait for the
replacement, where a shared socket would let the other workers take them. Anywhere else (not
Linux, fewer or more workers than CPUs, a kernel that refuses the program) ``mlwb serve``
keeps the one shared socket.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import socket
from typing import Any

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.server import Server
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from mlworkbench.serving import worker_balance

logger = logging.getLogger("uvicorn.error")

SO_ATTACH_REUSEPORT_CBPF = 51  # linux/asm-generic/socket.h
SKF_AD_CPU = 0xFFFFF000 + 36  # SKF_AD_OFF + SKF_AD_CPU: "load the current CPU's number"
BPF_LD_W_ABS, BPF_ALU_MOD_K, BPF_RET_A = 0x20, 0x94, 0x16


class _Instruction(ctypes.Structure):  # struct sock_filter
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):  # struct sock_fprog
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def usable_cpus() -> list[int]:
    """The CPUs this process may run on ([] where the system does not say)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pinnable_cpus(workers: int) -> list[int] | None:
    """The CPUs 0..workers-1 when they are exactly the ones this process may run on."""
    cpus = usable_cpus()
    return cpus if workers >= 2 and cpus == list(range(workers)) else None


def cpu_sockets(host: str, port: int, count: int,
                backlog: int) -> list[socket.socket] | None:
    """``count`` listening sockets on (host, port) in one SO_REUSEPORT group whose program
    sends a connection to socket number (its CPU mod count); None where the kernel refuses
    the program. OSError where the address cannot be bound (in use, not this host's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_server((host, port), family=family, backlog=backlog,
                                                reuse_port=True))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    code = (_Instruction * 3)(_Instruction(BPF_LD_W_ABS, 0, 0, SKF_AD_CPU),
                              _Instruction(BPF_ALU_MOD_K, 0, 0, count),
                              _Instruction(BPF_RET_A, 0, 0, 0))
    program = _Program(len(code), ctypes.cast(code, ctypes.POINTER(_Instruction)))
    try:
        sockets[0].setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(program))
    except OSError as error:
        logger.warning(f"one shared socket: the kernel refused per-CPU sockets ({error})")
        for sock in sockets:
            sock.close()
        return None
    for sock in sockets:
        sock.set_inheritable(True)
    return sockets


class PinnedProcess(Process):
    """A uvicorn worker that first pins itself to one CPU and joins the balance of open
    connections between the workers (serving/worker_balance.py)."""

    def __init__(self, config: Config, sockets: list[socket.socket], cpu: int,
                 balance: tuple[int, Any, socket.socket, list[socket.socket]]) -> None:
        self.cpu = cpu
        self.balance = balance  # slot, shared counts, its inbox, every slot's outbox
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        os.sched_setaffinity(0, {self.cpu})  # runs in the worker (coverage does not see it)
        worker_balance.install(worker_balance.Balance(*self.balance))
        super().target(sockets)

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = worker_balance.BalancingServer(config=self.config)
        return self._server


class PinnedWorkers(Multiprocess):
    """uvicorn's supervisor with worker i on socket i and CPU i; a worker that dies or is
    restarted (SIGHUP) is replaced in its own slot."""

    def __init__(self, config: Config, sockets: list[socket.socket], cpus: list[int]) -> None:
        super().__init__(config, sockets)
        self.cpus = cpus
        spawn = multiprocessing.get_context("spawn")
        self.counts = spawn.RawArray("i", len(cpus))  # open connections per slot
        self.channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in cpus]

    def _worker(self, slot: int) -> PinnedProcess:
        return PinnedProcess(self.config, [self.sockets[slot]], self.cpus[slot],
                             (slot, self.counts, self.channels[slot][0],
                              [outbox for _, outbox in self.channels]))

    def close(self) -> None:
        for pair in self.channels:
            for end in pair:
                end.close()

    def init_processes(self) -> None:
        for slot in range(self.processes_num):
            process = self._worker(slot)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._worker(slot)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck,
                                        self.should_exit):
                new.kill()
                new.join()
                if not self.should_exit.is_set():
                    logger.error(f"New child process [{new.pid}] was not ready in time; "
                                 f"keeping worker [{old.pid}] and aborting the restart.")
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def keep_subprocess_alive(self) -> None:
        for slot, process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: gone for good
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # broken app: every restart would fail
                logger.error(f"Child process [{process.pid}] failed to start, stopping the "
                             "parent process.")
                self.should_exit.set()
                return
            logger.info(f"Child process [{process.pid}] died")
            self.counts[slot] = 0  # its connections went with it
            self.processes[slot] = self._worker(slot)
            self.processes[slot].start()
