"""The LLM simulator, over real HTTP: raw protocol checks with httpx, and litellm's view of it.

What litellm 1.110.2 (openai SDK transport, aiohttp) does with the simulator's answers, as
these tests pin it down:

- 429 -> ``litellm.RateLimitError``; the Retry-After header is on ``exc.response.headers``.
- 401 -> ``AuthenticationError``; 400/422 -> ``BadRequestError``; 404 -> ``NotFoundError``;
  403 -> plain ``litellm.APIError`` (not a PermissionDeniedError).
- 500 -> ``InternalServerError``; 502 -> ``BadGatewayError``; 503 -> ``ServiceUnavailableError``;
  408 and 504 -> ``litellm.Timeout``; a client-side timeout -> ``litellm.Timeout`` too.
- A 200 whose body is not JSON -> ``InternalServerError`` (status 500, the JSON decode message);
  when streaming, a chunk that is not JSON -> ``MidStreamFallbackError`` (a
  ``ServiceUnavailableError``) while iterating.
- The context-length 400 -> ``ContextWindowExceededError`` (a ``BadRequestError``).
- By default litellm retries on its own: the openai SDK's ``max_retries=2`` (3 attempts) on
  408/429/5xx, sleeping Retry-After when the server sends one. ``num_retries=0`` or
  ``max_retries=0`` turns that off; the tests pass both and count the attempts the simulator saw.
"""

from __future__ import annotations

import asyncio
import enum
import json
import math
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import BaseModel, Field, ValidationError

from agentops.runtime.simulator import (
    ModelBehaviour,
    Outage,
    SimConfig,
    Simulator,
    SimulatorThread,
    serve_forever,
)

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

FAST = ModelBehaviour(latency_ms=0)
QUESTION = "How should I tune PostgreSQL autovacuum for a write-heavy orders table?"
MSG = [{"role": "user", "content": QUESTION}]


def fast(**fields: Any) -> ModelBehaviour:
    """A zero-latency behaviour with the given faults."""
    return ModelBehaviour(latency_ms=0, **fields)


@pytest.fixture(scope="module")
def litellm() -> Any:
    """litellm, imported once per module (the import alone takes seconds)."""
    import litellm as module

    return module


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimConfig(default=FAST, seed=7)) as running:
        yield running


@pytest_asyncio.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        yield client


async def ask(litellm: Any, sim: Simulator, model: str, **kwargs: Any) -> Any:
    """One litellm call to ``model`` on the simulator, with litellm's own retries off."""
    kwargs.setdefault("messages", MSG)
    return await litellm.acompletion(
        model=f"openai/{model}",
        api_base=sim.base_url + "/v1",
        api_key="sim",
        num_retries=0,
        max_retries=0,
        **kwargs,
    )


def chat(model: str = "m", messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": messages or MSG, **extra}


# --- plain replies -------------------------------------------------------------------------


async def test_plain_reply_has_the_openai_shape_and_is_deterministic(http: httpx.AsyncClient) -> None:
    first = (await http.post("/v1/chat/completions", json=chat())).json()
    again = (await http.post("/v1/chat/completions", json=chat())).json()

    assert first["object"] == "chat.completion"
    assert first["id"].startswith("chatcmpl-")
    assert first["model"] == "m"
    assert first["system_fingerprint"]
    choice = first["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    text = choice["message"]["content"]
    assert 1 <= text.count(".") <= 3
    assert any(word in text for word in ("postgresql", "autovacuum", "orders", "table", "tune"))
    assert again["choices"][0]["message"]["content"] == text
    usage = first["usage"]
    assert usage["prompt_tokens"] == math.ceil(len(QUESTION) / 4) + 4
    assert usage["completion_tokens"] == math.ceil(len(text) / 4)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_litellm_gets_the_same_text_as_a_raw_client(
    litellm: Any, sim: Simulator, http: httpx.AsyncClient
) -> None:
    raw = (await http.post("/v1/chat/completions", json=chat("gpt-4o-mini"))).json()
    response = await ask(litellm, sim, "gpt-4o-mini")
    assert response.choices[0].message.content == raw["choices"][0]["message"]["content"]
    assert sim.stats.model("gpt-4o-mini").requests == 2


async def test_scripted_replies_cycle_in_order(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("m", fast(replies=["one", "two"]))
    texts = [
        (await http.post("/v1/chat/completions", json=chat())).json()["choices"][0]["message"]["content"]
        for _ in range(3)
    ]
    assert texts == ["one", "two", "one"]


async def test_max_tokens_cuts_the_reply(http: httpx.AsyncClient) -> None:
    body = (await http.post("/v1/chat/completions", json=chat(max_tokens=2))).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert len(body["choices"][0]["message"]["content"]) <= 8


async def test_latency_is_applied(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("slow", ModelBehaviour(latency_ms=60, latency_sigma=0))
    started = time.monotonic()
    await http.post("/v1/chat/completions", json=chat("slow"))
    assert 0.06 <= time.monotonic() - started < 2.0


async def test_models_endpoint_and_bad_requests(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("gpt-4o-mini", FAST)
    models = (await http.get("/v1/models")).json()
    assert models["object"] == "list"
    assert "gpt-4o-mini" in [m["id"] for m in models["data"]]

    for content in (b"not json", json.dumps({"model": "m"}).encode(), json.dumps({"messages": MSG}).encode()):
        response = await http.post("/v1/chat/completions", content=content)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert (await http.get("/v1/nowhere")).status_code == 404
    stats = (await http.get("/sim/stats")).json()
    assert stats["bad_requests"] == 4
    assert stats["requests"] == 0


# --- structured output and tools ------------------------------------------------------------


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ESCALATE = "escalate"


class Author(BaseModel):
    name: str
    years: int = Field(ge=1, le=40)


class Review(BaseModel):
    title: str
    verdict: Verdict
    score: float = Field(ge=0, le=1)
    tags: list[str]
    author: Author
    reviewers: list[Author]
    approved: bool
    note: str | None = None


def json_schema_format(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": model.model_json_schema()}}


async def test_json_schema_output_validates_against_the_pydantic_model(litellm: Any, sim: Simulator) -> None:
    response = await ask(litellm, sim, "gpt-4o-mini", response_format=json_schema_format(Review))
    content = response.choices[0].message.content
    review = Review.model_validate_json(content)
    assert review.reviewers and len(review.reviewers) <= 3
    words = {"postgresql", "autovacuum", "orders", "table", "tune", "write-heavy"}
    assert words & set(review.title.lower().split())
    again = await ask(litellm, sim, "gpt-4o-mini", response_format=json_schema_format(Review))
    assert again.choices[0].message.content == content


async def test_litellm_pydantic_response_format_is_honoured(litellm: Any, sim: Simulator) -> None:
    response = await ask(litellm, sim, "gpt-4o-mini", response_format=Review)
    Review.model_validate_json(response.choices[0].message.content)


async def test_schema_features_refs_anyof_const_bounds(http: httpx.AsyncClient) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {
        "type": "object",
        "$defs": {
            "Step": {
                "type": "object",
                "properties": {
                    "kind": {"const": "step"},
                    "order": {"type": "integer", "exclusiveMinimum": 0, "maximum": 3},
                    "next": {"anyOf": [{"$ref": "#/$defs/Step"}, {"type": "null"}]},
                },
                "required": ["kind", "order", "next"],
            }
        },
        "properties": {
            "steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 2, "maxItems": 2},
            "id": {"type": "string", "format": "uuid"},
            "code": {"type": "string", "minLength": 12, "maxLength": 20},
            "mode": {"type": ["string", "null"], "enum": ["fast", "safe"]},
            "meta": {"allOf": [{"properties": {"a": {"type": "boolean"}}, "required": ["a"]}]},
        },
        "required": ["steps", "id", "code", "mode", "meta"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}}
    body = (await http.post("/v1/chat/completions", json=chat(response_format=fmt))).json()
    jsonschema.validate(json.loads(body["choices"][0]["message"]["content"]), schema)


async def test_json_object_mode_returns_a_json_object(http: httpx.AsyncClient) -> None:
    body = (await http.post("/v1/chat/completions", json=chat(response_format={"type": "json_object"}))).json()
    assert set(json.loads(body["choices"][0]["message"]["content"])) == {"answer"}


async def test_invalid_output_fault_breaks_the_schema(litellm: Any, sim: Simulator) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(rate_invalid_output=1.0))
    response = await ask(litellm, sim, "gpt-4o-mini", response_format=json_schema_format(Review))
    with pytest.raises(ValidationError):
        Review.model_validate_json(response.choices[0].message.content)
    call = (await ask(litellm, sim, "gpt-4o-mini", tools=TOOLS[:1])).choices[0].message.tool_calls[0]
    with pytest.raises(ValidationError):
        SearchArgs.model_validate_json(call.function.arguments)
    assert sim.stats.model("gpt-4o-mini").fault("invalid_output") == 2


class SearchArgs(BaseModel):
    query: str
    limit: int = Field(ge=1, le=20)


class TicketArgs(BaseModel):
    title: str
    priority: Verdict


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the docs.",
            "parameters": SearchArgs.model_json_schema(),
        },
    },
    {
        "type": "function",
        "function": {
            "name": "open_ticket",
            "description": "Open a ticket.",
            "parameters": TicketArgs.model_json_schema(),
        },
    },
]


async def test_tool_calls_carry_valid_json_arguments(litellm: Any, sim: Simulator) -> None:
    response = await ask(litellm, sim, "gpt-4o-mini", tools=TOOLS)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    args_model = {"search_docs": SearchArgs, "open_ticket": TicketArgs}[call.function.name]
    args_model.model_validate_json(call.function.arguments)

    forced = await ask(
        litellm, sim, "gpt-4o-mini", tools=TOOLS, tool_choice={"type": "function", "function": {"name": "open_ticket"}}
    )
    (call,) = forced.choices[0].message.tool_calls
    assert call.function.name == "open_ticket"
    TicketArgs.model_validate_json(call.function.arguments)

    followup = [
        *MSG,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "ticket OPS-42 opened"},
    ]
    answer = await ask(litellm, sim, "gpt-4o-mini", tools=TOOLS, messages=followup)
    assert answer.choices[0].finish_reason == "stop"
    assert "open_ticket" in answer.choices[0].message.content
    assert "OPS-42" in answer.choices[0].message.content


# --- faults ----------------------------------------------------------------------------------


async def test_429_carries_retry_after_and_is_a_rate_limit_error(
    litellm: Any, sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(rate_429=1.0, retry_after_s=2.0))
    raw = await http.post("/v1/chat/completions", json=chat("gpt-4o-mini"))
    assert raw.status_code == 429
    assert raw.headers["retry-after"] == "2"
    assert raw.json()["error"]["code"] == "rate_limit_exceeded"

    with pytest.raises(litellm.RateLimitError) as info:
        await ask(litellm, sim, "gpt-4o-mini")
    assert info.value.response.headers["retry-after"] == "2"
    assert sim.stats.model("gpt-4o-mini").status(429) == 2  # one raw, one litellm: no retry


async def test_litellm_retries_by_itself_unless_told_not_to(litellm: Any, sim: Simulator) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(rate_429=1.0, retry_after_s=0.05))
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(
            model="openai/gpt-4o-mini", api_base=sim.base_url + "/v1", api_key="sim", messages=MSG
        )
    assert sim.stats.model("gpt-4o-mini").requests == 3  # the openai SDK's max_retries=2


async def test_fail_status_401_is_an_authentication_error(litellm: Any, sim: Simulator) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(fail_statuses=[401]))
    with pytest.raises(litellm.AuthenticationError):
        await ask(litellm, sim, "gpt-4o-mini")
    assert sim.stats.model("gpt-4o-mini").fault("fail_status") == 1


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("rate_500", "InternalServerError"),
        ("rate_502", "BadGatewayError"),
        ("rate_503", "ServiceUnavailableError"),
    ],
)
async def test_server_errors_map_to_litellm_exceptions(litellm: Any, sim: Simulator, field: str, error: str) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(**{field: 1.0}))
    with pytest.raises(getattr(litellm, error)) as info:
        await ask(litellm, sim, "gpt-4o-mini")
    assert info.value.status_code == int(field[-3:])
    assert sim.stats.model("gpt-4o-mini").requests == 1


async def test_malformed_body_raises_in_litellm(litellm: Any, sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(rate_malformed=1.0))
    raw = await http.post("/v1/chat/completions", json=chat("gpt-4o-mini"))
    assert raw.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        raw.json()
    # litellm reports an unparseable 200 as a 500 InternalServerError ...
    with pytest.raises(litellm.InternalServerError) as info:
        await ask(litellm, sim, "gpt-4o-mini")
    assert info.value.status_code == 500
    # ... and a broken stream chunk as MidStreamFallbackError, a ServiceUnavailableError.
    stream = await ask(litellm, sim, "gpt-4o-mini", stream=True)
    with pytest.raises(litellm.ServiceUnavailableError):
        async for _ in stream:
            pass
    assert sim.stats.model("gpt-4o-mini").fault("malformed") == 3


async def test_timeout_fault_makes_the_client_time_out(litellm: Any) -> None:
    sim = Simulator(SimConfig(default=fast(rate_timeout=1.0, timeout_stall_s=30)))
    await sim.start()
    try:
        with pytest.raises(litellm.Timeout):
            await ask(litellm, sim, "gpt-4o-mini", timeout=0.3)
    finally:
        started = time.monotonic()
        await sim.stop()  # the stalled request is cut, not waited for
        assert time.monotonic() - started < 1.0


async def test_context_window_overflow(litellm: Any, sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("gpt-4o-mini", fast(context_window=10))
    raw = await http.post("/v1/chat/completions", json=chat("gpt-4o-mini"))
    assert raw.status_code == 400
    error = raw.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["message"].startswith("This model's maximum context length is 10 tokens.")
    with pytest.raises(litellm.ContextWindowExceededError):
        await ask(litellm, sim, "gpt-4o-mini")
    assert sim.stats.model("gpt-4o-mini").requests == 2


async def test_outage_window_gives_503_then_recovers(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("m", fast(outages=[Outage(start_s=0, duration_s=0.3)]))
    down = await http.post("/v1/chat/completions", json=chat())
    assert down.status_code == 503
    assert down.json()["error"]["message"]
    await asyncio.sleep(0.35)
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 200

    sim.start_outage("m", 0.2)
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 503
    await asyncio.sleep(0.25)
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 200
    stats = sim.stats.model("m")
    assert stats.outage_hits == 2
    assert len(stats.outage_windows) == 2
    assert stats.outage_windows[0] == (0.0, 0.3)


def test_periodic_outage_windows() -> None:
    outage = Outage(every_s=10, duration_s=2, offset_s=1)
    assert outage.window_at(0.5) is None
    assert outage.window_at(1.5) == (1.0, 3.0)
    assert outage.window_at(3.0) is None
    assert outage.window_at(22.0) == (21.0, 23.0)
    with pytest.raises(ValidationError):
        Outage(duration_s=1)
    with pytest.raises(ValidationError):
        ModelBehaviour(rate_492=1.0)  # a typo is an error, not a silently ignored key


async def test_rpm_limit_gives_429_past_the_limit(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("m", fast(rpm_limit=3))
    statuses = [(await http.post("/v1/chat/completions", json=chat())).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = await http.post("/v1/chat/completions", json=chat())
    assert 55 <= float(limited.headers["retry-after"]) <= 60
    assert sim.stats.model("m").fault("rpm_limit") == 3


async def test_cached_tokens_on_a_repeated_prefix(litellm: Any, sim: Simulator) -> None:
    system = {"role": "system", "content": "You are a careful database reviewer. " * 40}
    sim.set_behaviour("gpt-4o-mini", fast(cache_min_tokens=100))
    first = await ask(litellm, sim, "gpt-4o-mini", messages=[system, {"role": "user", "content": "first"}])
    second = await ask(litellm, sim, "gpt-4o-mini", messages=[system, {"role": "user", "content": "second"}])
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens == math.ceil(len(system["content"]) / 4) + 4

    sim.set_behaviour("gpt-4o-mini", fast(cache_min_tokens=10_000))
    third = await ask(litellm, sim, "gpt-4o-mini", messages=[system, {"role": "user", "content": "third"}])
    assert third.usage.prompt_tokens_details.cached_tokens == 0


async def test_stats_count_requests_per_status(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.set_behaviour("m", fast(fail_statuses=[500, 503, 500]))
    sim.set_behaviour("ok", FAST)
    for model in ("m", "m", "m", "m", "ok"):
        await http.post("/v1/chat/completions", json=chat(model))
    stats = sim.stats
    assert stats.requests == 5
    assert stats.model("m").statuses == {500: 3, 503: 1}
    assert stats.model("ok").statuses == {200: 1}
    served = (await http.get("/sim/stats")).json()
    assert served["models"]["m"]["statuses"] == {"500": 3, "503": 1}

    sim.reset_stats()
    assert sim.stats.requests == 0
    await http.post("/v1/chat/completions", json=chat("ok"))
    assert (await http.post("/sim/reset")).json() == {"reset": True}
    assert sim.stats.requests == 0


async def test_reconfigure_applies_to_the_next_request(sim: Simulator, http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 200
    sim.reconfigure(SimConfig(default=fast(fail_statuses=[502])))
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 502
    sim.reconfigure(SimConfig(default=FAST))
    assert (await http.post("/v1/chat/completions", json=chat())).status_code == 200
    assert sim.stats.model("m").statuses == {200: 2, 502: 1}


async def test_seeded_fault_sequence_is_reproducible() -> None:
    async def statuses(seed: int) -> list[int]:
        config = SimConfig(seed=seed, default=fast(rate_500=0.5))
        async with Simulator(config) as sim, httpx.AsyncClient(base_url=sim.base_url) as client:
            return [(await client.post("/v1/chat/completions", json=chat())).status_code for _ in range(16)]

    first = await statuses(3)
    assert first == await statuses(3)
    assert {200, 500} == set(first)


# --- streaming ---------------------------------------------------------------------------------


async def test_streaming_through_litellm(litellm: Any, sim: Simulator) -> None:
    whole = await ask(litellm, sim, "gpt-4o-mini")
    stream = await ask(litellm, sim, "gpt-4o-mini", stream=True, stream_options={"include_usage": True})
    pieces: list[str] = []
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = getattr(chunk, "usage", None) or usage
    assert len(pieces) > 1
    assert "".join(pieces) == whole.choices[0].message.content
    assert usage is not None
    assert usage.prompt_tokens == whole.usage.prompt_tokens
    assert sim.stats.model("gpt-4o-mini").streams == 1


async def test_raw_stream_ends_with_usage_and_done(http: httpx.AsyncClient) -> None:
    body = chat(stream=True, stream_options={"include_usage": True}, tools=TOOLS)
    response = await http.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream"
    events = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    arguments = "".join(
        c["choices"][0]["delta"].get("tool_calls", [{}])[0].get("function", {}).get("arguments", "")
        for c in chunks[:-1]
    )
    json.loads(arguments)


# --- runners -----------------------------------------------------------------------------------


def test_simulator_thread_serves_synchronous_callers() -> None:
    with SimulatorThread(SimConfig(default=FAST)) as sim:
        response = httpx.post(sim.base_url + "/v1/chat/completions", json=chat())
        assert response.status_code == 200
        sim.set_behaviour("m", fast(fail_statuses=[401]))
        assert httpx.post(sim.base_url + "/v1/chat/completions", json=chat()).status_code == 401
        assert sim.stats.model("m").statuses == {200: 1, 401: 1}
    with pytest.raises(RuntimeError):
        _ = sim.base_url


async def test_serve_forever_reports_its_url_and_stops_when_cancelled() -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(serve_forever(SimConfig(default=FAST), on_ready=ready.put_nowait))
    url = await asyncio.wait_for(ready.get(), 5)
    async with httpx.AsyncClient() as client:
        assert (await client.get(url + "/health")).json() == {"status": "ok"}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/health")
