"""A provider's batch API through litellm: upload a JSONL file of chat requests, create the
batch job, find it again by its metadata, poll it, and read its output and error files.

Only OpenAI-compatible deployments (``openai/...``: OpenAI itself, the simulator, vLLM and
others that serve ``/v1/files`` and ``/v1/batches``) can batch; :func:`can_batch` says which.
Every function raises :class:`~agentops.runtime.errors.ProviderError` (mapped like a chat
call's errors), so the poller tells a transient failure (try again later) from a permanent one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentops.runtime.calls.pricing import Usage
from agentops.runtime.calls.provider import Deployment, ProviderReply, ToolCall, load_litellm_async, map_error
from agentops.runtime.errors import TransientProviderError

__all__ = ["FINAL_STATES", "JobState", "LineResult", "can_batch", "create_job", "find_job", "job_state", "read_lines"]

FINAL_STATES = ("completed", "failed", "expired", "cancelled")
"""A provider job's states after which nothing more will be answered."""

METADATA_KEY = "agentops_job"
"""The metadata key of a provider job that holds our job's id (how a crashed sender finds it)."""


@dataclass(frozen=True)
class JobState:
    """A provider job as last read."""

    batch_id: str
    status: str
    output_file_id: str | None
    error_file_id: str | None

    @property
    def final(self) -> bool:
        """Nothing more will be answered."""
        return self.status in FINAL_STATES


@dataclass(frozen=True)
class LineResult:
    """One line of a job's output or error file."""

    custom_id: str
    reply: ProviderReply | None
    """The answer, when the line succeeded."""
    error: str | None
    """Why it failed, otherwise."""


def can_batch(deployment: Deployment) -> bool:
    """Whether the deployment's provider serves the OpenAI batch API."""
    return deployment.provider == "openai"


def _endpoint(deployment: Deployment) -> dict[str, Any]:
    return {"custom_llm_provider": "openai", "api_base": deployment.api_base, "api_key": deployment.api_key or "none"}


async def create_job(deployment: Deployment, lines: list[dict[str, Any]], job_id: str) -> tuple[JobState, str]:
    """Upload ``lines`` (``custom_id`` and ``body`` each) and create their job, tagged with ``job_id``.

    Returns:
        (the job, the input file's id).
    """
    litellm = await load_litellm_async()
    data = b"".join(
        json.dumps(
            {"custom_id": ln["custom_id"], "method": "POST", "url": "/v1/chat/completions", "body": ln["body"]}
        ).encode()
        + b"\n"
        for ln in lines
    )
    try:
        upload = await litellm.acreate_file(
            file=(f"{job_id}.jsonl", data, "application/jsonl"), purpose="batch", **_endpoint(deployment)
        )
        batch = await litellm.acreate_batch(
            completion_window="24h",
            endpoint="/v1/chat/completions",
            input_file_id=upload.id,
            metadata={METADATA_KEY: job_id},
            **_endpoint(deployment),
        )
    except Exception as exc:
        raise map_error(exc, deployment.name) from exc
    return _state(batch), str(upload.id)


async def find_job(deployment: Deployment, job_id: str) -> JobState | None:
    """The provider job tagged with ``job_id``, if one was created (a sender that crashed after
    creating it but before recording it)."""
    litellm = await load_litellm_async()
    try:
        page = await litellm.alist_batches(limit=100, **_endpoint(deployment))
    except Exception as exc:
        raise map_error(exc, deployment.name) from exc
    for batch in getattr(page, "data", None) or []:
        if (getattr(batch, "metadata", None) or {}).get(METADATA_KEY) == job_id:
            return _state(batch)
    return None


async def job_state(deployment: Deployment, batch_id: str) -> JobState:
    """Poll a provider job."""
    litellm = await load_litellm_async()
    try:
        batch = await litellm.aretrieve_batch(batch_id=batch_id, **_endpoint(deployment))
    except Exception as exc:
        raise map_error(exc, deployment.name) from exc
    return _state(batch)


async def read_lines(deployment: Deployment, state: JobState) -> list[LineResult]:
    """Every line of a finished job's output and error files."""
    litellm = await load_litellm_async()
    out: list[LineResult] = []
    for file_id in (state.output_file_id, state.error_file_id):
        if not file_id:
            continue
        try:
            content = await litellm.afile_content(file_id=file_id, **_endpoint(deployment))
        except Exception as exc:
            raise map_error(exc, deployment.name) from exc
        for raw in bytes(content.content).splitlines():
            if raw.strip():
                out.append(_line(raw, deployment.name))
    return out


def _state(batch: Any) -> JobState:
    return JobState(str(batch.id), str(batch.status), batch.output_file_id, batch.error_file_id)


def _line(raw: bytes, deployment: str) -> LineResult:
    try:
        line = json.loads(raw)
        custom_id = str(line["custom_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TransientProviderError(f"malformed batch output line: {exc}", deployment=deployment) from exc
    response = line.get("response") or {}
    body = response.get("body") or {}
    status = response.get("status_code")
    if line.get("error") or status != 200:
        detail = line.get("error") or body.get("error") or {}
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        return LineResult(custom_id, None, f"status {status}: {message or 'no reason given'}")
    try:
        return LineResult(custom_id, reply_from_json(body), None)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return LineResult(custom_id, None, f"malformed answer: {exc}")


def reply_from_json(body: dict[str, Any]) -> ProviderReply:
    """A chat completion as the provider's JSON has it (a batch line's body)."""
    choice = body["choices"][0]
    message = choice["message"]
    calls = []
    for tc in message.get("tool_calls") or []:
        args = json.loads(tc["function"].get("arguments") or "{}")
        calls.append(
            ToolCall(tc.get("id") or "", tc["function"]["name"], args if isinstance(args, dict) else {"value": args})
        )
    usage = body.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return ProviderReply(
        text=message.get("content"),
        tool_calls=tuple(calls),
        usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), int(cached)),
        finish_reason=choice.get("finish_reason"),
        response_model=body.get("model"),
    )
