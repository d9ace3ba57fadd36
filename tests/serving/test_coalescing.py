"""The coalescing transport: what one loop turn writes leaves as one write, in order, before
the connection closes; an abort drops what was held. Over a real loopback connection."""

from __future__ import annotations

import asyncio

from mlworkbench.serving.coalescing import CoalescingTransport


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.received.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(True)


async def _connected() -> tuple[_Sink, CoalescingTransport, asyncio.Server]:
    loop = asyncio.get_running_loop()
    sinks: list[_Sink] = []
    server = await loop.create_server(lambda: sinks.append(_Sink()) or sinks[-1], "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    while not sinks:
        await asyncio.sleep(0.001)
    return sinks[0], CoalescingTransport(transport, loop), server


def test_one_turns_writes_leave_together_and_a_close_sends_them_first() -> None:
    async def scenario() -> None:
        sink, transport, server = await _connected()
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        transport.write(b"body")
        assert transport.get_write_buffer_size() == 42  # held until the turn ends
        await asyncio.sleep(0.05)
        assert b"".join(sink.received) == b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"
        assert transport.get_write_buffer_size() == 0
        transport.write(b"last words")
        transport.close()  # in the same turn: flushed, then closed
        await asyncio.wait_for(sink.closed, 5)
        assert b"".join(sink.received).endswith(b"bodylast words")
        server.close()

    asyncio.run(scenario())


def test_an_abort_drops_what_was_held() -> None:
    async def scenario() -> None:
        sink, transport, server = await _connected()
        transport.write(b"never sent")
        transport.abort()
        await asyncio.wait_for(sink.closed, 5)
        assert sink.received == []
        server.close()

    asyncio.run(scenario())
