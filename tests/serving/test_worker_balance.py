"""The hand-over between pinned workers, on real sockets: which worker takes a connection, the
socket crossing a Unix socket still connected, and a receiver that does not read."""

from __future__ import annotations

import multiprocessing
import socket

import pytest

from mlworkbench.serving.worker_balance import Balance


@pytest.fixture
def balances():
    counts = multiprocessing.get_context("spawn").RawArray("i", 2)
    channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(2)]
    outboxes = [outbox for _, outbox in channels]
    made = [Balance(slot, counts, channels[slot][0], outboxes) for slot in range(2)]
    for inbox, _ in channels:
        inbox.setblocking(False)
    yield made
    for pair in channels:
        for end in pair:
            end.close()


def test_only_two_connections_more_than_another_worker_move_one(balances) -> None:
    first, second = balances
    first.counts[0], first.counts[1] = 1, 0
    assert first.target() is None and second.target() is None  # one apart: stay
    first.counts[0] = 2
    assert first.target() == 1 and second.target() is None


def test_a_handed_over_connection_arrives_connected_and_counted_for_the_receiver(
        balances) -> None:
    first, second = balances
    first.counts[0] = 3
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as client:
        accepted, _ = server.accept()
        assert first.hand_over(accepted, 1)
        accepted.close()  # the sender's descriptor only
        received: list[socket.socket] = []
        second.receive(received.append)
        assert len(received) == 1 and list(first.counts) == [2, 1]
        with received[0] as moved:
            client.sendall(b"ping")
            assert moved.recv(4) == b"ping"  # the same connection, now in the receiver
            moved.sendall(b"pong")
            assert client.recv(4) == b"pong"


def test_a_receiver_that_does_not_read_never_blocks_the_sender(balances) -> None:
    first, _ = balances
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()):
        accepted, _ = server.accept()
        with accepted:
            sent = 0
            first.counts[0] = 1000
            while first.hand_over(accepted, 1):  # the inbox fills; nobody reads it
                sent += 1
                assert sent < 100_000
            assert sent > 0 and first.counts[1] == sent and first.counts[0] == 1000 - sent
