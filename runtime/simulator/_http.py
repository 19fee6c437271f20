"""A minimal HTTP/1.1 server on asyncio streams, made for the simulator.

Why not uvicorn: the simulator runs in the event loop of the code under test,
so it must cost little CPU per request, start and stop at once (tests start
dozens), install no signal handlers and leave the process's logging alone.
This server does exactly what OpenAI clients (httpx, aiohttp) need: keep-alive,
``Content-Length`` or chunked request bodies, plain and chunked (streamed)
responses. It is not a general-purpose web server.
"""

from __future__ import annotations

import asyncio
import http
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["HttpRequest", "HttpResponse", "HttpServer", "StreamingResponse"]

_MAX_BODY = 64 * 1024 * 1024
_SERVER = b"server: agentops-sim\r\n"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One parsed request. Header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass(slots=True)
class HttpResponse:
    """A response with its whole body known up front."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamingResponse:
    """A response whose body is sent chunk by chunk (chunked encoding)."""

    status: int
    chunks: AsyncIterator[bytes]
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse | StreamingResponse]]


class _BadRequestError(Exception):
    """The bytes on the wire are not an HTTP/1.1 request we can serve."""


class HttpServer:
    """Serves ``handler`` on one listening socket until :meth:`stop`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind ``host:port`` (port 0 = ephemeral) and start accepting.

        Returns:
            The bound ``(host, port)``.
        """
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.setblocking(False)
            self._server = await asyncio.start_server(self._serve, sock=sock, backlog=512)
        except BaseException:
            sock.close()
            raise
        bound = sock.getsockname()
        return str(bound[0]), int(bound[1])

    async def stop(self) -> None:
        """Stop accepting, cut every open connection and wait for them to end."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader, writer)
                except _BadRequestError as exc:
                    body = json.dumps({"error": {"message": f"bad HTTP request: {exc}"}}).encode()
                    await _write(writer, HttpResponse(400, body), keep_alive=False)
                    return
                if request is None:
                    return
                response = await self._handler(request)
                await _write(writer, response, request.keep_alive)
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Only stop() (or loop teardown) cancels a connection; nobody awaits
            # this task, and asyncio logs a cancelled stream callback as an error.
            return
        finally:
            self._connections.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> HttpRequest | None:
    """Read one request; None on a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequestError("connection closed inside the request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadRequestError("request head too large") from exc
    lines = head[:-4].decode("latin-1").lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequestError(f"bad request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise _BadRequestError(f"bad header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await _read_body(reader, headers)
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    path = target.split("?", 1)[0]
    return HttpRequest(method.upper(), path, headers, body, keep_alive)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        pieces: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequestError("bad chunk size") from exc
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers: ignored
                return b"".join(pieces)
            total += size
            if total > _MAX_BODY:
                raise _BadRequestError("body too large")
            pieces.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise _BadRequestError("bad content-length")
    length = int(length_text)
    if length > _MAX_BODY:
        raise _BadRequestError("body too large")
    return await reader.readexactly(length) if length else b""


def _head(status: int, content_type: str, extra: dict[str, str], keep_alive: bool) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in extra.items())
    lines.append("connection: keep-alive\r\n" if keep_alive else "connection: close\r\n")
    return "".join(lines).encode("latin-1") + _SERVER


async def _write(writer: asyncio.StreamWriter, response: HttpResponse | StreamingResponse, keep_alive: bool) -> None:
    head = _head(response.status, response.content_type, response.headers, keep_alive)
    if isinstance(response, HttpResponse):
        writer.write(b"%scontent-length: %d\r\n\r\n%s" % (head, len(response.body), response.body))
        await writer.drain()
        return
    writer.write(head + b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n")
    async for chunk in response.chunks:
        if chunk:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()
