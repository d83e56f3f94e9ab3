"""An HTTP/1.1 proxy on loopback that adds a fixed latency to every request and counts them.

moto answers in ~4 ms; AWS from a CD runner is tens to hundreds of milliseconds away.
Adding the issue's 100 ms per request shows what a serial client pays and what the
physical limit (latency x requests / concurrency) is. The proxy understands just enough
HTTP to find request boundaries on kept-alive connections (Content-Length, chunked
bodies, HEAD/204/304 responses), so each request is delayed and counted once, whatever
the client's connection pooling. It runs an asyncio loop in a daemon thread; concurrent
connections are delayed concurrently, as a network would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass

from bench.aws_operations import operation

Headers = dict[str, str]


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it: its ``service:Operation`` and when it arrived."""

    operation: str
    at: float


class LatencyProxy:
    """Forward 127.0.0.1:<port> to ``upstream`` with ``latency_s`` added before each request."""

    def __init__(self, upstream_port: int, latency_s: float, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.latency_s = latency_s
        self.port = 0
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> int:
        """Listen on a free loopback port and return it."""
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def stop(self) -> None:
        """Stop listening and end the loop's thread."""
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def take(self) -> list[Seen]:
        """The requests seen since the last take, oldest first (and forget them)."""
        with self._lock:
            seen, self._seen = self._seen, []
        return seen

    def _record(self, method: str, target: str, headers: Headers, body: bytes) -> None:
        seen = Seen(operation(method, target, headers, body), self._loop.time())
        with self._lock:
            self._seen.append(seen)

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        """Relay one client connection, request by request, over one upstream connection."""
        upstream, to_upstream = await asyncio.open_connection(*self.upstream)
        try:
            while await self._relay_one(client, to_client, upstream, to_upstream):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            for writer in (to_client, to_upstream):
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

    async def _relay_one(
        self,
        client: asyncio.StreamReader,
        to_client: asyncio.StreamWriter,
        upstream: asyncio.StreamReader,
        to_upstream: asyncio.StreamWriter,
    ) -> bool:
        """One request and its response; False when either side closes the connection."""
        try:
            head = await client.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        method, target, _, headers = parse_head(head)
        if headers.get("expect", "").lower() == "100-continue":
            # Answer it here: the body must be read before the delay and the forward.
            to_client.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await to_client.drain()
            head = drop_header(head, b"expect")
        body = await read_body(client, headers)
        self._record(method, target, headers, body)
        await asyncio.sleep(self.latency_s)
        to_upstream.write(head + body)
        await to_upstream.drain()
        response = await upstream.readuntil(b"\r\n\r\n")
        _, status, _, response_headers = parse_head(response)
        bodiless = method == "HEAD" or status.startswith(("1", "204", "304"))
        framed = bodiless or "content-length" in response_headers or _chunked(response_headers)
        response_body = b"" if bodiless else await read_body(upstream, response_headers, True)
        to_client.write(response + response_body)
        await to_client.drain()
        closing = "close" in (
            headers.get("connection", "").lower(),
            response_headers.get("connection", "").lower(),
        )
        return framed and not closing


def parse_head(head: bytes) -> tuple[str, str, str, Headers]:
    """The three words of a request or status line and the headers (names lower-cased)."""
    lines = head.decode("latin-1").split("\r\n")
    words = [*lines[0].split(" ", 2), "", ""][:3]
    headers: Headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return words[0], words[1], words[2], headers


def drop_header(head: bytes, name: bytes) -> bytes:
    """The head without the header ``name`` (lower-case)."""
    lines = head.split(b"\r\n")
    kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() != name]
    return b"\r\n".join(kept)


def _chunked(headers: Headers) -> bool:
    return "chunked" in headers.get("transfer-encoding", "").lower()


async def read_body(
    reader: asyncio.StreamReader, headers: Headers, until_close: bool = False
) -> bytes:
    """A message body exactly as framed (chunk sizes kept), so it is forwarded unchanged.

    A response with neither length nor chunking ends when the server closes
    (``until_close``); a request without either has no body.
    """
    if _chunked(headers):
        framed = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            framed += size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = await reader.readuntil(b"\r\n")
                    framed += trailer
                    if trailer == b"\r\n":
                        return bytes(framed)
            framed += await reader.readexactly(size + 2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read() if until_close else b""
