"""The Escalations screen on a real runtime: the queue, the detail, deciding through the modal, alerts, read-only.

Tasks park on a real escalation: the triage agent with a scripted billing verdict
(customer c-0001's invoice is $141.07, above the $100 threshold), or an agent whose
tool ``requires_approval``. Two snapshots use fixed sample data on a frozen clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from console_sample import NOW, TRACE, write_sample
from console_support import ConsoleTestApp, control_of, wait_for
from pydantic import BaseModel, Field
from textual.widgets import Input, TextArea

from agentops.console.app import ConsoleApp
from agentops.console.screens import DecideScreen, EscalationScreen, EscalationsScreen, TracesScreen
from agentops.runtime import Context, LocalControl, Registry, Runtime, agent, tool
from agentops.runtime.errors import ToolDeniedError
from agentops.store import SpanRecord, Store, TaskRecord

SIZE = (120, 36)
ACTOR = "ana"
BILLING = json.dumps({"category": "billing", "urgency": "high", "summary": "customer wants a refund"})
REFUND_TICKET = {"text": "Please refund my last invoice", "customer_id": "c-0001"}


class Refund(BaseModel):
    order_id: str
    amount: float = Field(gt=0, le=1000)


class Request(BaseModel):
    order_id: str
    amount: float


def refunds_registry() -> Registry:
    reg = Registry()

    @tool(registry=reg, requires_approval=True)
    async def refund(args: Refund) -> dict[str, float]:
        """Pay money back (a side effect)."""
        return {"refunded": args.amount}

    @agent(registry=reg, tools=["refund"])
    async def refunds(ctx: Context, req: Request) -> dict[str, object]:
        await ctx.llm(f"Plan a refund of {req.amount} for order {req.order_id}", name="plan")
        try:
            done = await ctx.tool("refund", order_id=req.order_id, amount=req.amount)
        except ToolDeniedError as exc:
            return {"denied": str(exc)}
        return {"done": done}

    return reg


async def _started(settings: Any, registry: Registry | None = None) -> Runtime:
    rt = Runtime(settings, registry, workers=True)
    await rt.start()
    await rt.wait_ready()
    return rt


@pytest.fixture
async def refunds_rt(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """Workers and an agent whose ``refund`` tool waits for approval."""
    monkeypatch.setenv("AGENTOPS_ACTOR", ACTOR)
    settings = make_settings(
        runtime={"agent_modules": []},
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 2, "lease_s": 5, "poll_s": 0.05},
    )
    rt = await _started(settings, refunds_registry())
    yield rt
    await rt.stop()


@pytest.fixture
async def triage_rt(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """Workers and the sample agents; the classifier says "billing", so a refund over $100 escalates."""
    monkeypatch.setenv("AGENTOPS_ACTOR", ACTOR)
    settings = make_settings(
        routes={"default": {"chain": ["primary"]}},
        workers={"concurrency": 2, "poll_s": 0.05},
        models={"gpt-4o-mini": {"latency_ms": 0, "replies": [BILLING]}},
    )
    rt = await _started(settings)
    yield rt
    await rt.stop()


async def task_status(rt: Runtime, task_id: str, status: str, timeout: float = 15) -> TaskRecord:
    assert rt.store is not None
    deadline = time.monotonic() + timeout
    task = await rt.store.get_task(task_id)
    while time.monotonic() < deadline:
        task = await rt.store.get_task(task_id)
        if task is not None and task.status == status:
            return task
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} never became {status}: {task}")


async def queue_with_one(pilot: Any, rt: Runtime, agent_name: str, payload: dict[str, Any]) -> EscalationsScreen:
    """Submit a task that escalates, go to the Escalations screen, and wait for its row."""
    app = pilot.app
    await wait_for(pilot, lambda: app.control is not None, what="connected")
    task, _ = await rt.submit(agent_name, payload)
    await task_status(rt, task.id, "waiting")
    await pilot.press("4")
    screen = app.screen
    assert isinstance(screen, EscalationsScreen)
    await wait_for(pilot, lambda: screen.table.row_count == 1, what="the waiting escalation")
    return screen


async def modal(pilot: Any) -> DecideScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DecideScreen), what="the decision modal")
    screen = pilot.app.screen
    assert isinstance(screen, DecideScreen)
    return screen


async def escalation_actions(rt: Runtime) -> list[tuple[str, str, str]]:
    log = await LocalControl.of(rt).audit_log()
    return [(a.actor, a.via, a.action) for a in log if a.action.startswith("escalation.")]


async def test_queue_detail_and_approval_with_a_comment(triage_rt: Runtime) -> None:
    rt = triage_rt
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_with_one(pilot, rt, "triage", REFUND_TICKET)
        (e,) = screen.escalations.values()
        assert "refund $141.07" in e.reason
        row = [str(c) for c in screen.table.get_row_at(0)]
        assert row[0] == e.id and row[2].startswith("in ") and "issue_refund" in row[6]
        assert "4 Escalations  1 " in str(screen.query_one("StatusBar").render())  # the header's badge

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EscalationScreen) and app.screen.spans, what="detail")
        detail = app.screen
        assert isinstance(detail, EscalationScreen)
        text = str(detail.query_one("#escalation-detail").render())
        assert "refund $141.07" in text and "proposed: issue_refund" in text and '"amount_usd": 141.07' in text
        assert {"classify", "tool lookup_invoice"} <= {s.name for s in detail.spans}  # the trace so far

        await pilot.press("a")
        decide = await modal(pilot)
        await pilot.press(*"known", "space", *"customer", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the queue")
        task = await task_status(rt, e.task_id, "succeeded")
        assert task.output["category"] == "billing"
        assert (await escalation_actions(rt))[0] == (ACTOR, "console", "escalation.approve")
        decided = await LocalControl.of(rt).get_escalation(e.id)
        assert decided.comment == "known customer" and decided.decided_via == "console"
        await wait_for(pilot, lambda: screen.table.row_count == 0, what="the queue emptied")
        assert any("approved" in n.message for n in app._notifications)
        assert not decide.is_attached


@pytest.mark.parametrize("width", [120, 160, 200])
async def test_reason_and_arguments_take_the_width_a_wide_terminal_has(triage_rt: Runtime, width: int) -> None:
    app = ConsoleApp(control_of(triage_rt))
    async with app.run_test(size=(width, 36)) as pilot:
        screen = await queue_with_one(pilot, triage_rt, "triage", REFUND_TICKET)
        (e,) = screen.escalations.values()
        proposed = "issue_refund " + json.dumps(e.proposed)
        await pilot.pause(0.2)
        columns = {str(c.key.value): c for c in screen.table.columns.values()}
        padding = 2 * screen.table.cell_padding * len(columns)
        used = sum(c.width for c in columns.values()) + padding
        assert used <= width  # no horizontal scrolling
        if width >= 160:  # room to spare: the reason is whole, the arguments get the rest
            assert columns["reason"].width >= len(e.reason)
        if width >= 200:
            assert columns["proposed"].width >= len(proposed)
        if width == 120:  # the least widths, as before
            assert (columns["reason"].width, columns["proposed"].width) == (28, 24)


async def test_deny_needs_a_reason_and_the_reason_reaches_the_agent(refunds_rt: Runtime) -> None:
    rt = refunds_rt
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_with_one(pilot, rt, "refunds", {"order_id": "A-2", "amount": 900})
        (e,) = screen.escalations.values()
        await pilot.press("d")
        decide = await modal(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "a denial needs a reason" in decide.error, what="the refusal")
        assert app.screen is decide  # still open, nothing written
        assert await escalation_actions(rt) == []
        await pilot.press(*"over", "space", *"the", "space", *"limit", "enter")
        task = await task_status(rt, e.task_id, "succeeded")
        assert task.output == {"denied": "operator denied tool 'refund': over the limit"}
        assert await escalation_actions(rt) == [(ACTOR, "console", "escalation.deny")]


async def test_an_invalid_edit_is_shown_and_writes_nothing(refunds_rt: Runtime) -> None:
    rt = refunds_rt
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_with_one(pilot, rt, "refunds", {"order_id": "A-3", "amount": 400})
        (e,) = screen.escalations.values()
        await pilot.press("e")
        decide = await modal(pilot)
        area = decide.query_one("#decide-args", TextArea)
        assert json.loads(area.text) == {"order_id": "A-3", "amount": 400}  # prefilled with the proposal
        area.load_text("{oops")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "not valid JSON" in decide.error, what="the JSON error")
        area.load_text('{"order_id": "A-3", "amount": 5000}')
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "amount: Input should be less than or equal to 1000" in decide.error)
        assert app.screen is decide
        assert await escalation_actions(rt) == []
        assert (await LocalControl.of(rt).get_escalation(e.id)).status == "pending"
        area.load_text('{"order_id": "A-3", "amount": 150}')
        await pilot.press("ctrl+s")
        task = await task_status(rt, e.task_id, "succeeded")
        assert task.output == {"done": {"refunded": 150.0}}
        assert await escalation_actions(rt) == [(ACTOR, "console", "escalation.edit")]


async def test_a_decision_made_elsewhere_first_is_shown_and_the_queue_refreshes(refunds_rt: Runtime) -> None:
    rt = refunds_rt
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_with_one(pilot, rt, "refunds", {"order_id": "A-4", "amount": 300})
        (e,) = screen.escalations.values()
        await pilot.press("a")
        await modal(pilot)
        # Meanwhile, someone approves from the CLI (against the store).
        await LocalControl.of(rt).decide(e.id, "approve", actor="bob", via="cli")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, what="the modal closed")
        (note,) = [n for n in app._notifications if n.severity == "error"]
        assert "already decided: approve by bob via cli" in note.message
        await wait_for(pilot, lambda: screen.table.row_count == 0, what="the queue refreshed")
        assert await escalation_actions(rt) == [("bob", "cli", "escalation.approve")]


async def test_read_only_shows_the_queue_but_no_actions(refunds_rt: Runtime) -> None:
    rt = refunds_rt
    app = ConsoleApp(control_of(rt), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await queue_with_one(pilot, rt, "refunds", {"order_id": "A-5", "amount": 300})
        assert all(screen.check_action(action, ()) is False for action in ("approve", "deny", "edit"))
        await pilot.pause(0.1)
        footer = {str(k.description) for k in screen.query("FooterKey")}
        assert "Trace" in footer and not {"Approve", "Deny", "Edit"} & footer
        await pilot.press("a", "d", "e")
        await pilot.pause(0.2)
        assert app.screen is screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EscalationScreen) and app.screen.record is not None)
        detail = app.screen
        await pilot.press("a")
        await pilot.pause(0.2)
        assert app.screen is detail
        assert await escalation_actions(rt) == []


async def test_a_new_escalation_raises_a_notification_on_the_traces_screen(triage_rt: Runtime) -> None:
    rt = triage_rt
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.control is not None, what="connected")
        assert isinstance(app.screen, TracesScreen)
        await rt.submit("triage", REFUND_TICKET)
        await wait_for(
            pilot,
            lambda: any(n.severity == "warning" and "refund $141.07" in n.message for n in app._notifications),
            what="the escalation notification",
        )
        (note,) = [n for n in app._notifications if n.title.startswith("Escalation")]
        assert note.message.startswith("triage: ")
        await wait_for(pilot, lambda: app.runtime_status is not None and app.runtime_status.escalations_waiting == 1)


# -- snapshots ------------------------------------------------------------------------------


WAITING_TASK = "9d3ec3d4e5f6a7b6"


async def write_escalations(store: Store) -> None:
    """A waiting triage task with its spans so far, and two escalations (one with markup in its text)."""
    created = NOW - 130
    task = TaskRecord(
        WAITING_TASK, "triage", "waiting", REFUND_TICKET, TRACE, created, "u-erin", "s-u-erin", started_at=created
    )
    await store.insert_task(task)
    root = "s000000000000101"
    for span in [
        SpanRecord(root, TRACE, None, WAITING_TASK, "task triage", "task", "ok", created, created + 1.2, {}),
        SpanRecord(
            "s000000000000102",
            TRACE,
            root,
            WAITING_TASK,
            "classify",
            "llm",
            "ok",
            created + 0.01,
            created + 0.9,
            {"agentops.deployment": "primary", "agentops.cost_usd": 0.000061},
        ),
        SpanRecord(
            "s000000000000103",
            TRACE,
            root,
            WAITING_TASK,
            "tool lookup_invoice",
            "tool",
            "ok",
            created + 0.91,
            created + 0.92,
            {"gen_ai.tool.name": "lookup_invoice"},
        ),
        SpanRecord("s000000000000104", TRACE, root, WAITING_TASK, "escalate", "gate", "ok", created + 0.93, None, {}),
    ]:
        store.save_span(span)
    invoice = {"customer_id": "c-0001", "invoice": "INV-02311", "amount_usd": 141.07, "status": "due"}
    rows = [
        (
            "e-4f1c2a9b7d",
            WAITING_TASK,
            4,
            "triage",
            "refund $141.07 on INV-02311 (over $100)",
            json.dumps({"ticket": REFUND_TICKET["text"], "invoice": invoice}),
            json.dumps({"customer_id": "c-0001", "invoice": "INV-02311", "amount_usd": 141.07}),
            "issue_refund",
            "deny",
            NOW - 125,
            NOW + 475,
        ),
        (
            "e-9b02d7e611",
            "e2a6c3d4e5f6a7b5",
            2,
            "triage",
            "approve tool call [bold red]issue_refund[/] (model said so)",
            json.dumps("the model asked: [i]urgent[/i]"),
            json.dumps({"customer_id": "[link=x]c-0042[/link]", "invoice": "INV-00042", "amount_usd": 420.0}),
            "issue_refund",
            "deny",
            NOW - 20,
            NOW + 40,
        ),
    ]

    def tx(conn: Any) -> None:
        conn.executemany(
            "INSERT INTO escalations (id, task_id, seq, agent, reason, context, proposed, tool, status,"
            " default_action, created_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            rows,
        )

    await store.writer.transact(tx)
    await store.writer.flush()


@pytest.fixture
def sample_app(make_settings: Any) -> ConsoleTestApp:
    settings = make_settings()

    async def start() -> Runtime:
        rt = Runtime(settings)  # no workers: nothing resumes, no deadline applies
        await rt.start()
        assert rt.store is not None
        await write_sample(rt.store)
        await write_escalations(rt.store)
        await rt.wait_ready()
        return rt

    return ConsoleTestApp(start, clock=lambda: NOW)


async def _queue_shown(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.phase == "ready" and app.runtime_status is not None, what="ready")
    await pilot.press("4")
    screen = app.screen
    assert isinstance(screen, EscalationsScreen)
    await wait_for(pilot, lambda: screen.table.row_count == 2, what="2 escalations")
    await wait_for(pilot, lambda: app.runtime_status.escalations_waiting == 2, what="the header count")


def test_escalations_snapshot(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    assert snap_compare(sample_app, terminal_size=SIZE, run_before=_queue_shown)


def test_escalation_detail_snapshot(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _queue_shown(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EscalationScreen) and pilot.app.screen.spans)
        await pilot.pause(0.1)

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_approve_modal_snapshot(snap_compare: Any, sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _queue_shown(pilot)
        await pilot.press("j", "a")
        screen = await modal(pilot)
        assert isinstance(screen.focused, Input)
        await pilot.pause(0.1)

    assert snap_compare(sample_app, terminal_size=SIZE, run_before=run)


def test_new_escalations_are_alerts_even_while_paused() -> None:
    from agentops.console.live import LiveFeed
    from agentops.runtime import EventBus

    bus = EventBus()
    feed = LiveFeed(bus.subscribe())
    feed.paused = True
    bus.publish("escalation.opened", escalation_id="e-1", task_id="t1", agent="triage", reason="why", tool=None)
    bus.publish("task.waiting", task_id="t1", agent="triage", escalation_id="e-1")
    assert feed.tick() is None  # the batch is held...
    assert [e["escalation_id"] for e in feed.take_opened()] == ["e-1"]  # ...the alert is not
    assert feed.take_opened() == []
    feed.paused = False
    batch = feed.tick()
    assert batch is not None and batch.escalations == {"e-1"} and batch.tasks == {"t1"}
