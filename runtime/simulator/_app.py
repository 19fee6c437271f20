"""The simulator's HTTP endpoints and the life of one chat request.

Routes: ``POST /v1/chat/completions``, ``GET /v1/models``, the batch API (``/v1/files``,
``/v1/batches``: :mod:`._batches`) (all also without the ``/v1`` prefix), ``GET /sim/stats``,
``POST /sim/reset``, ``GET /health``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from ._batches import BatchApi
from ._config import ModelBehaviour, SimConfig
from ._errors import context_overflow, error_response
from ._faults import Fault, ModelState, decide
from ._http import HttpRequest, HttpResponse, StreamingResponse
from ._prompt import prompt_tokens
from ._reply import Envelope, Usage, completion_body, compose, stream_events
from ._request import BadRequestError, ChatRequest, parse_chat_request
from ._stats import ModelStats, SimStats, count

__all__ = ["SimulatorApp"]

Response = HttpResponse | StreamingResponse
_MALFORMED = b'{"id": "chatcmpl-sim", "object": "chat.completion", "choices": [{"message": {"ro'


class SimulatorApp:
    """Routes requests and holds the simulator's mutable state.

    Args:
        config: The initial configuration.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.stats = SimStats()
        self._states: dict[str, ModelState] = {}
        self._started = time.monotonic()
        self._served = 0
        self._forced_all: tuple[float, float] | None = None
        self.batches = BatchApi(lambda: self.config.batch, self._chat)

    def mark_started(self) -> None:
        """Make now the origin of outage schedules."""
        self._started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since :meth:`mark_started`."""
        return time.monotonic() - self._started

    def reconfigure(self, config: SimConfig) -> None:
        """Swap the configuration; per-model state survives unless the seed changes."""
        if config.seed != self.config.seed:
            self._states.clear()
        self.config = config

    def set_behaviour(self, model: str, behaviour: ModelBehaviour) -> None:
        """Set one model's behaviour; its scripted cycles restart from the top."""
        models = {**self.config.models, model: behaviour}
        self.config = self.config.model_copy(update={"models": models})
        state = self._states.get(model)
        if state is not None:
            state.reply_index = state.fail_index = 0

    def start_outage(self, model: str, duration_s: float) -> None:
        """Answer 503 to every request to ``model`` (``"*"``: all) for ``duration_s``."""
        now = self.elapsed()
        names = [*self.config.models, *self._states] if model == "*" else [model]
        for name in names:
            self.state(name).forced = (now, now + duration_s)
        if model == "*":
            self._forced_all = (now, now + duration_s)

    def reset(self) -> None:
        """Forget counters and per-model state (RNGs, cycles, rate windows, caches)."""
        self.stats = SimStats()
        self._states.clear()
        self._forced_all = None
        self.batches.reset()

    def state(self, model: str) -> ModelState:
        """The state of ``model``, created on first use."""
        state = self._states.get(model)
        if state is None:
            state = self._states[model] = ModelState(self.config.seed, model)
            state.forced = self._forced_all
        return state

    async def handle(self, request: HttpRequest) -> Response:
        """Answer one HTTP request."""
        path = request.path.rstrip("/")
        if path.startswith("/v1/"):
            path = path[3:]
        route = (request.method, path)
        try:
            if route == ("POST", "/chat/completions"):
                return await self._chat(request)
            if route == ("GET", "/models"):
                return _json(200, self._models())
            if path.startswith(("/files", "/batches")):
                answer = await self.batches.handle(request, path)
                if answer is not None:
                    return answer
            if route == ("GET", "/sim/stats"):
                return _json(200, {**self.stats.to_dict(), "batches": self.batches.stats()})
            if route == ("POST", "/sim/reset"):
                self.reset()
                return _json(200, {"reset": True})
            if route == ("GET", "/health"):
                return _json(200, {"status": "ok"})
        except Exception as exc:  # noqa: BLE001 - a simulator bug must still answer
            return error_response(500, message=f"simulator error: {exc!r}")
        self.stats.bad_requests += 1
        return error_response(404, message=f"Unknown request URL: {request.method} {request.path}.")

    def _models(self) -> dict[str, Any]:
        names = sorted({*self.config.models, *self._states})
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "agentops-sim"} for n in names]
        return {"object": "list", "data": data}

    async def _chat(self, request: HttpRequest) -> Response:
        config = self.config
        try:
            chat = parse_chat_request(request.body, config.seed)
        except BadRequestError as exc:
            self.stats.bad_requests += 1
            return error_response(400, message=exc.message, param=exc.param)
        behaviour = config.behaviour(chat.model)
        state = self.state(chat.model)
        tokens = prompt_tokens(chat.messages)
        stats = self.stats.record_request(chat.model, chat.stream, tokens, request.headers.get("traceparent"))
        u, z = state.rng.random(), state.rng.gauss(0.0, 1.0)
        wants_json = (chat.calls_tool or chat.json_schema is not None) and not behaviour.replies
        fault = decide(behaviour, state, now=self.elapsed(), prompt_tokens=tokens, wants_json=wants_json, u=u)
        delay = state.latency_s(behaviour, z)
        if fault is not None:
            _count_fault(stats, fault)
        if fault is not None and fault.status >= 400:
            if delay:
                await asyncio.sleep(delay)
            count(stats.statuses, fault.status)
            if fault.kind == "context_window":
                return context_overflow(behaviour.context_window, tokens)
            return error_response(fault.status, chat.model, retry_after_s=fault.retry_after_s)
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(behaviour.timeout_stall_s)
        elif delay:
            await asyncio.sleep(delay)
        count(stats.statuses, 200)
        if fault is not None and fault.kind == "malformed":
            if chat.stream:
                return StreamingResponse(200, _chunks([b"data: " + _MALFORMED + b"\n\n"]))
            return HttpResponse(200, _MALFORMED)
        return self._answer(chat, tokens=tokens, behaviour=behaviour, state=state, stats=stats, fault=fault)

    def _answer(
        self,
        chat: ChatRequest,
        *,
        tokens: int,
        behaviour: ModelBehaviour,
        state: ModelState,
        stats: ModelStats,
        fault: Fault | None,
    ) -> Response:
        cached = state.prefixes.observe(chat.messages, behaviour.cache_min_tokens)
        broken = fault is not None and fault.kind == "invalid_output"
        reply = compose(chat, state.next_reply(behaviour), broken)
        usage = Usage(tokens, reply.tokens, cached)
        stats.completion_tokens += usage.completion
        stats.cached_tokens += cached
        self._served += 1
        serial = self._served.to_bytes(8, "big")
        response_id = "chatcmpl-" + hashlib.blake2b(chat.digest + serial, digest_size=12).hexdigest()
        envelope = Envelope(
            id=response_id,
            created=int(time.time()),
            model=chat.model,
            fingerprint=f"fp_sim{self.config.seed & 0xFFFFFF:06x}",
        )
        if not chat.stream:
            return _json(200, completion_body(reply, usage, envelope))
        events = stream_events(reply, usage if chat.include_usage else None, envelope)
        lines = [b"data: " + json.dumps(event).encode() + b"\n\n" for event in events]
        lines.append(b"data: [DONE]\n\n")
        return StreamingResponse(200, _chunks(lines))


def _count_fault(stats: ModelStats, fault: Fault) -> None:
    count(stats.faults, fault.kind)
    if fault.kind == "outage":
        stats.outage_hits += 1
        if fault.window is not None and fault.window not in stats.outage_windows:
            stats.outage_windows.append(fault.window)


async def _chunks(lines: list[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


def _json(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode())
