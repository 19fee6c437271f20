"""The guards on the real call path: the output filter on replies and tool results, and the
redaction of personal data in what is stored (the simulator over HTTP, a real SQLite file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from runtime_support import start

from agentops.runtime import Context, Registry, agent, tool
from agentops.runtime.errors import ConfigError
from agentops.runtime.guards import PiiScanner
from agentops.runtime.guards.pii import MAYBE
from agentops.store import EscalationStore
from agentops.store.costs import CostStore

EMAIL, CARD, IBAN = "ana.lopez@example.org", "4111 1111 1111 1111", "DE89370400440532013000"
PHONE, KEY = "+1 212 555 0199", "sk-proj-Zq4mW8rT2yU6iO0pA3sD5fG7hJ9kL1x"
SSN = "536-90-4399"
PII = (EMAIL, CARD, IBAN, PHONE, KEY, SSN)


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner()


class Ask(BaseModel):
    text: str


class Customer(BaseModel):
    customer: str


def make_registry(seen: dict[str, object]) -> Registry:
    reg = Registry()

    @tool(registry=reg)
    async def lookup(args: Customer) -> dict[str, str]:
        """A customer's contact details (personal data)."""
        return {"customer": args.customer, "email": EMAIL, "iban": IBAN}

    @agent(registry=reg, tools=["lookup"])
    async def support(ctx: Context, ask: Ask) -> dict[str, object]:
        contact = await ctx.tool("lookup", customer="c-1")
        reply = await ctx.llm(f"Answer: {ask.text}", name="answer")
        seen.update(contact=contact, reply=reply.text, text=ask.text)
        return {"reply": reply.text, "contact": contact}

    return reg


def settings(make_settings, reply: str, **guards):
    return make_settings(
        {"gpt-4o-mini": {"replies": [reply]}},
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        guards=guards,
    )


# -- the scanner ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        (f"write to {EMAIL} today", "EMAIL_ADDRESS"),
        (f"card {CARD} expires 09/29", "CREDIT_CARD"),
        (f"pay to {IBAN}", "IBAN_CODE"),
        (f"call me on {PHONE}", "PHONE_NUMBER"),
        (f"my ssn is {SSN}", "US_SSN"),
        ("NINO AB 12 34 56 C on file", "UK_NINO"),
        ("from 192.168.10.24 and fe80::1ff:fe23:4567:890a", "IP_ADDRESS"),
        (f"OPENAI_API_KEY={KEY}", "OPENAI_KEY"),
        ("key AKIAIOSFODNN7EXAMPLE in the logs", "AWS_ACCESS_KEY"),
        ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "GITHUB_TOKEN"),
        ("Authorization: Bearer abcDEF123456ghiJKL789", "BEARER_TOKEN"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----", "PRIVATE_KEY"),
        ("password: hunter2hunter2", "GENERIC_SECRET"),
    ],
)
def test_each_entity_is_found_and_redacted(scanner: PiiScanner, text: str, entity: str):
    redacted, found = scanner.redact(text)
    assert entity in {f.entity for f in found}, found
    assert f"<{entity}>" in redacted


def test_a_card_number_must_pass_luhn_and_plain_numbers_pass(scanner: PiiScanner):
    assert "CREDIT_CARD" not in {f.entity for f in scanner.find("card 4111 1111 1111 1112")}
    for text in ("Order 1234 ships in 3 days", "version 2.3.10", "It costs $1,299.00", "Meet at 10:30"):
        assert scanner.find(text) == [], text


def test_the_prefilter_never_hides_a_match(scanner: PiiScanner):
    """Every text Presidio finds something in also passes MAYBE (the shortcut loses nothing)."""
    corpus = [
        f"{prefix} {value} {suffix}" for value in PII for prefix in ("x", "call", "Dear") for suffix in (".", "!")
    ]
    corpus += ["NINO AB 12 34 56 C", "10.0.0.1", "::1 and fe80::1", "token: abcdefgh12345", "secret=s3cr3tvalue"]
    for text in corpus:
        assert scanner._analyzer.analyze(text=text, language="en", score_threshold=0.4), text
        assert MAYBE.search(text), text


def test_an_unknown_entity_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"guards\.pii_entities: PASSPORT unknown"):
        PiiScanner(["EMAIL_ADDRESS", "PASSPORT"])


# -- the output filter on the call path ---------------------------------------------------------


async def test_personal_data_in_a_reply_and_a_tool_result_is_redacted_before_the_agent(make_settings):
    seen: dict[str, object] = {}
    rt = await start(settings(make_settings, f"Sure: mail {EMAIL} or call {PHONE}."), make_registry(seen))
    try:
        task = await rt.run("support", {"text": "how do I reach you?"})
        assert task.status == "succeeded", task.error
        assert seen["reply"] == "Sure: mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>."
        assert seen["contact"] == {"customer": "c-1", "email": "<EMAIL_ADDRESS>", "iban": "<IBAN_CODE>"}
        spans = await rt.store.spans_for_task(task.id)
        (llm,) = [s for s in spans if s.kind == "llm"]
        assert llm.attributes["agentops.guard.output_pii"]["decision"] == "redact"
        assert EMAIL not in str(llm.attributes)  # the recorded reply is the filtered one
        (tool_span,) = [s for s in spans if s.kind == "tool"]
        assert tool_span.attributes["agentops.guard.output_pii"]["entities"] == ["EMAIL_ADDRESS", "IBAN_CODE"]
        await rt.store.writer.flush()
        audit = await EscalationStore(rt.store).audit_log()
        actions = {(a.actor, a.via, a.action) for a in audit}
        assert ("agent:support", "guard", "guard.output_pii.redact") in actions
        assert {a.details["where"] for a in audit} == {"reply", "tool lookup"}
    finally:
        await rt.stop()


async def test_block_policy_of_one_agent_fails_its_task_with_a_typed_error(make_settings):
    seen: dict[str, object] = {}
    s = settings(make_settings, f"The key is {KEY}", output_pii="off", agents={"support": {"output_pii": "block"}})
    rt = await start(s, make_registry(seen))
    try:
        task = await rt.run("support", {"text": "give me the key"})
        assert task.status == "failed" and task.error_type == "GuardBlockedError"
        assert "guard output_pii blocked the tool lookup" in task.error and "EMAIL_ADDRESS" in task.error
        assert "reply" not in seen
    finally:
        await rt.stop()


async def test_a_blocked_reply_is_billed_recorded_and_raised(make_settings):
    reg = Registry()

    @agent(registry=reg)
    async def asker(ctx: Context, ask: Ask) -> str:
        return (await ctx.llm(ask.text, name="ask")).text

    rt = await start(settings(make_settings, f"The key is {KEY}", output_pii="block"), reg)
    try:
        task = await rt.run("asker", {"text": "the key?"})
        assert task.status == "failed" and task.error_type == "GuardBlockedError"
        assert task.error.startswith("guard output_pii blocked the reply: it holds OPENAI_KEY")
        await rt.store.writer.flush()
        (call,) = await rt.store.llm_calls(task_id=task.id)
        assert call.error_type == "GuardBlockedError" and call.cost_usd > 0
        assert all(KEY not in str(s.attributes) for s in await rt.store.spans_for_task(task.id))
    finally:
        await rt.stop()


async def test_output_filter_off_lets_the_reply_through(make_settings):
    reg = Registry()

    @agent(registry=reg)
    async def asker(ctx: Context, ask: Ask) -> str:
        return (await ctx.llm(ask.text, name="ask")).text

    rt = await start(settings(make_settings, f"Mail {EMAIL}", output_pii="off"), reg)
    try:
        task = await rt.run("asker", {"text": "contact?"})
        assert task.output == f"Mail {EMAIL}"
        assert rt.guards is not None and rt.guards.pii is None  # nothing needs the scanner: never built
    finally:
        await rt.stop()


# -- nothing personal is stored -----------------------------------------------------------------


async def test_with_redact_pii_no_personal_data_reaches_the_sqlite_file(make_settings, tmp_path: Path):
    seen: dict[str, object] = {}
    s = settings(make_settings, f"Your card {CARD} is on file; key {KEY}.", redact_pii=True, output_pii="off")
    rt = await start(s, make_registry(seen))
    try:
        task = await rt.run("support", {"text": f"I am {EMAIL}, phone {PHONE}, SSN {SSN}"})
        assert task.status == "succeeded", task.error
        assert seen["reply"] == f"Your card {CARD} is on file; key {KEY}."  # the policy lets the agent have it
        assert seen["contact"]["email"] == EMAIL  # type: ignore[index]
        again = await rt.run("support", {"text": f"I am {EMAIL}, phone {PHONE}, SSN {SSN}"})
        assert again.status == "succeeded"
        assert (
            await CostStore(rt.store).cache_totals(since=0)
        ).entries == 0  # a request with personal data is not cached
    finally:
        await rt.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("agentops.db*"))
    assert len(stored) > 50_000
    for value in PII:
        assert value.encode() not in stored, value
    assert b"<EMAIL_ADDRESS>" in stored and b"<CREDIT_CARD>" in stored


def test_redact_value_walks_nested_json(scanner: PiiScanner):
    value, entities = scanner.redact_value({"a": [f"x {EMAIL}", {"b": f"iban {IBAN}"}], "n": 3})
    assert value == {"a": ["x <EMAIL_ADDRESS>", {"b": "iban <IBAN_CODE>"}], "n": 3}
    assert entities == {"EMAIL_ADDRESS", "IBAN_CODE"}
    assert re.fullmatch(r"<[A-Z_]+>", scanner.redact(KEY)[0])
