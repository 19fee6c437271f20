"""The simulator's batch API: OpenAI's ``/v1/files`` and ``/v1/batches``, as litellm calls them.

A batch is a JSONL file of chat requests (``custom_id``, ``method``, ``url``, ``body``)
uploaded with ``POST /v1/files`` (multipart, ``purpose=batch``) and named by
``POST /v1/batches``. It stays ``in_progress`` for :attr:`BatchBehaviour.delay_s`; the
first read after that answers every line through the simulator's own chat path (so the
models' behaviours, faults and counters apply) and completes the batch with an output
file and, for failed lines, an error file. ``fail_rate`` fails a share of lines with a 500,
each request at most once, so a retried line succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ._config import BatchBehaviour
from ._errors import error_response
from ._http import HttpRequest, HttpResponse, StreamingResponse

__all__ = ["BatchApi"]

Chat = Callable[[HttpRequest], Awaitable[HttpResponse | StreamingResponse]]
_FINAL = ("completed", "failed", "expired", "cancelled")


@dataclass
class _File:
    id: str
    purpose: str
    filename: str
    data: bytes
    created_at: int

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    created_at: float
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    completed_at: int | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            "in_progress_at": int(self.created_at),
            "completed_at": self.completed_at,
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }


class BatchApi:
    """Files and batches held in memory for one simulator.

    Args:
        behaviour: Reads the current batch behaviour (the configuration can change).
        chat: Answers one chat completion request (the simulator's own path).
    """

    def __init__(self, behaviour: Callable[[], BatchBehaviour], chat: Chat) -> None:
        self._behaviour = behaviour
        self._chat = chat
        self.reset()

    def reset(self) -> None:
        """Forget every file, batch and counter."""
        self._files: dict[str, _File] = {}
        self._batches: dict[str, _Batch] = {}
        self._failed: set[bytes] = set()
        self.batches_created = 0
        self.lines_answered = 0
        self.lines_failed = 0

    def stats(self) -> dict[str, int]:
        """Counters, as /sim/stats serves them under ``batches``."""
        return {
            "created": self.batches_created,
            "lines_answered": self.lines_answered,
            "lines_failed": self.lines_failed,
            "files": len(self._files),
        }

    async def handle(self, request: HttpRequest, path: str) -> HttpResponse | None:
        """Answer a files or batches request (``path`` without ``/v1``); None if it is neither."""
        parts = path.strip("/").split("/")
        method = request.method
        if parts[0] == "files":
            if method == "POST" and len(parts) == 1:
                return self._upload(request)
            if method == "GET" and len(parts) >= 2 and parts[1] in self._files:
                f = self._files[parts[1]]
                if len(parts) == 3 and parts[2] == "content":
                    return HttpResponse(200, f.data, content_type="application/octet-stream")
                if len(parts) == 2:
                    return _json(200, f.body())
            if len(parts) >= 2:
                return error_response(404, message=f"No such File object: {parts[1]}")
            return None
        if parts[0] != "batches":
            return None
        if method == "POST" and len(parts) == 1:
            return self._create(request)
        if method == "GET" and len(parts) == 1:
            data = [
                (await self._advance(b)).body() for b in sorted(self._batches.values(), key=lambda b: -b.created_at)
            ]
            return _json(200, {"object": "list", "data": data, "has_more": False})
        batch = self._batches.get(parts[1]) if len(parts) >= 2 else None
        if batch is None:
            return error_response(404, message=f"No such batch: {parts[1] if len(parts) > 1 else ''}")
        if method == "GET" and len(parts) == 2:
            return _json(200, (await self._advance(batch)).body())
        if method == "POST" and len(parts) == 3 and parts[2] == "cancel":
            if batch.status not in _FINAL:
                batch.status = "cancelled"
            return _json(200, batch.body())
        return None

    def _upload(self, request: HttpRequest) -> HttpResponse:
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return error_response(400, message="files must be uploaded as multipart/form-data", param="file")
        message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + ctype.encode() + b"\r\n\r\n" + request.body)
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (part.get_filename(), payload)
        if "file" not in fields:
            return error_response(400, message="a 'file' part is required", param="file")
        purpose = fields.get("purpose", (None, b"batch"))[1].decode()
        filename, data = fields["file"]
        f = self._add_file(purpose, filename or "upload.jsonl", data)
        return _json(200, f.body())

    def _add_file(self, purpose: str, filename: str, data: bytes) -> _File:
        f = _File("file-" + uuid.uuid4().hex[:24], purpose, filename, data, int(time.time()))
        self._files[f.id] = f
        return f

    def _create(self, request: HttpRequest) -> HttpResponse:
        try:
            body = json.loads(request.body)
        except ValueError:
            return error_response(400, message="the request body is not valid JSON")
        if not isinstance(body, dict):
            return error_response(400, message="the request body must be a JSON object")
        file_id = body.get("input_file_id")
        if file_id not in self._files:
            return error_response(400, message=f"input_file_id {file_id!r} does not exist", param="input_file_id")
        if body.get("endpoint") != "/v1/chat/completions":
            return error_response(400, message="the simulator batches /v1/chat/completions only", param="endpoint")
        metadata = body.get("metadata")
        batch = _Batch(
            "batch_" + uuid.uuid4().hex[:24],
            file_id,
            body["endpoint"],
            str(body.get("completion_window") or "24h"),
            metadata if isinstance(metadata, dict) else None,
            time.time(),
        )
        self._batches[batch.id] = batch
        self.batches_created += 1
        return _json(200, batch.body())

    async def _advance(self, batch: _Batch) -> _Batch:
        """Complete the batch once its delay has passed (answering its lines once)."""
        async with batch.lock:
            if batch.status in _FINAL or time.time() - batch.created_at < self._behaviour().delay_s:
                return batch
            lines = [ln for ln in self._files[batch.input_file_id].data.splitlines() if ln.strip()]
            answers = await asyncio.gather(*(self._line(raw) for raw in lines))
            out = [a for ok, a in answers if ok]
            errors = [a for ok, a in answers if not ok]
            batch.counts = {"total": len(lines), "completed": len(out), "failed": len(errors)}
            if out:
                batch.output_file_id = self._add_file("batch_output", "output.jsonl", _jsonl(out)).id
            if errors:
                batch.error_file_id = self._add_file("batch_output", "errors.jsonl", _jsonl(errors)).id
            batch.status, batch.completed_at = "completed", int(time.time())
        return batch

    async def _line(self, raw: bytes) -> tuple[bool, dict[str, Any]]:
        request_id = "req_" + uuid.uuid4().hex[:20]
        try:
            line = json.loads(raw)
            custom_id = str(line["custom_id"])
            body = json.dumps(line["body"]).encode()
        except (ValueError, KeyError, TypeError) as exc:
            self.lines_failed += 1
            return False, _line_error("", request_id, 400, f"invalid batch line: {exc}")
        digest = hashlib.blake2b(body, digest_size=16).digest()
        rate = self._behaviour().fail_rate
        share = int.from_bytes(hashlib.blake2b(custom_id.encode(), digest_size=8).digest(), "big") / 2**64
        if share < rate and digest not in self._failed:
            self._failed.add(digest)
            self.lines_failed += 1
            return False, _line_error(custom_id, request_id, 500, "The server had an error processing this line.")
        response = await self._chat(HttpRequest("POST", "/v1/chat/completions", {}, body, True))
        if not isinstance(response, HttpResponse):
            self.lines_failed += 1
            return False, _line_error(custom_id, request_id, 400, "stream is not supported in a batch")
        try:
            answer = json.loads(response.body)
        except ValueError:
            answer = {"error": {"message": "malformed reply"}}
        if response.status != 200:
            self.lines_failed += 1
            return False, {
                "id": "batch_req_" + request_id,
                "custom_id": custom_id,
                "response": {"status_code": response.status, "request_id": request_id, "body": answer},
                "error": None,
            }
        self.lines_answered += 1
        return True, {
            "id": "batch_req_" + request_id,
            "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": request_id, "body": answer},
            "error": None,
        }


def _line_error(custom_id: str, request_id: str, status: int, message: str) -> dict[str, Any]:
    return {
        "id": "batch_req_" + request_id,
        "custom_id": custom_id,
        "response": {
            "status_code": status,
            "request_id": request_id,
            "body": {"error": {"message": message, "type": "server_error"}},
        },
        "error": None,
    }


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode())
