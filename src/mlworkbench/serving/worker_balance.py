"""Pinned workers keep their connections even: a worker with two more open connections than
the least busy one hands a connection over between two requests.

Steering connections by CPU (serving/pinned_workers.py) knows nothing of load: a client that
opens all its connections from one CPU would have every one on one worker. So each worker
counts its open connections in memory the workers share, and when a response has gone out
on a connection that carries nothing more yet (no next request begun), a worker holding at
least two more than the least busy one passes that connection's socket to it over a Unix
socket (SCM_RIGHTS) and forgets it; the receiver serves it from there. Whatever the client
sends next is still in the kernel's buffer and goes with the socket. The sender counts the
connection for the receiver at once, so a burst of hand-overs does not overshoot. With the
client's connections spread over the CPUs nothing moves.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

from uvicorn.server import Server

from mlworkbench.serving.coalescing import CoalescingProtocol

logger = logging.getLogger("uvicorn.error")


class Balance:
    """One worker's view: its slot, every slot's open connections, and the hand-over sockets
    (its own inbox, and every slot's outbox)."""

    def __init__(self, slot: int, counts: Any, inbox: socket.socket,
                 outboxes: list[socket.socket]) -> None:
        self.slot = slot
        self.counts = counts  # a shared array of ints, one per slot
        self.inbox = inbox
        self.outboxes = outboxes
        for outbox in outboxes:  # a receiver that does not read must never block a sender
            outbox.setblocking(False)

    def target(self) -> int | None:
        """The least busy other slot when this one holds two connections more, else None."""
        least = min(range(len(self.counts)), key=self.counts.__getitem__)
        return least if self.counts[self.slot] >= self.counts[least] + 2 else None

    def hand_over(self, sock: socket.socket, slot: int) -> bool:
        try:
            socket.send_fds(self.outboxes[slot], [b"c"], [sock.fileno()])
        except OSError:  # the receiver's inbox is full (or gone): keep serving it here
            return False
        self.counts[slot] += 1  # counted for the receiver now, so no second worker piles on
        self.counts[self.slot] -= 1
        return True

    def receive(self, serve: Callable[[socket.socket], None]) -> None:
        """Every socket waiting in the inbox, served here (already counted by the sender)."""
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(self.inbox, 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            for fd in fds:
                serve(socket.socket(fileno=fd))


_BALANCE: Balance | None = None  # set in a pinned worker before its server starts


def install(balance: Balance | None) -> None:
    global _BALANCE
    _BALANCE = balance


class BalancedProtocol(CoalescingProtocol):
    """The serving protocol, counting its connection and handing it over when asked."""

    counted = False
    handed_over = False
    begun = 0  # requests begun on this connection
    answered = 0  # responses completed on it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if _BALANCE is not None and not self.counted:
            _BALANCE.counts[_BALANCE.slot] += 1
        self.counted = True
        super().connection_made(transport)

    def on_message_begin(self) -> None:
        self.begun += 1
        super().on_message_begin()

    def on_response_complete(self) -> None:
        self.answered += 1
        balance = _BALANCE
        if (balance is not None and self.begun == self.answered and not self.pipeline
                and not self.transport.is_closing()):
            slot = balance.target()
            if slot is not None and self._hand_over(balance, slot):
                return
        super().on_response_complete()

    def _hand_over(self, balance: Balance, slot: int) -> bool:
        self.transport.flush()  # the answer leaves now, not at the end of the loop's turn
        raw = self.transport.get_extra_info("socket")
        if raw is None or self.transport.get_write_buffer_size() or not balance.hand_over(
                raw, slot):
            return False
        self.handed_over = True
        self.server_state.total_requests += 1
        self.transport.close()  # our descriptor only: the receiver holds the connection
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if _BALANCE is not None and not self.handed_over:
            _BALANCE.counts[_BALANCE.slot] -= 1
        super().connection_lost(exc)


class BalancingServer(Server):
    """uvicorn's server, also serving the connections other workers hand over."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        balance = _BALANCE
        if balance is None or self.should_exit:
            return
        loop = asyncio.get_running_loop()
        config = self.config

        def serve(sock: socket.socket) -> None:
            protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state)
            protocol.counted = True  # the sender counted it for this slot
            sock.setblocking(False)
            loop.create_task(loop.connect_accepted_socket(lambda: protocol, sock))

        balance.inbox.setblocking(False)
        loop.add_reader(balance.inbox.fileno(), balance.receive, serve)
