"""Feature flags: the order of evaluation, sticky buckets at the configured shares, live changes
that are audited, survive a restart and show in traces from the next task on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentops.runtime import Context, LocalControl, Registry, Runtime, agent
from agentops.runtime.config import FlagSettings
from agentops.runtime.errors import DecisionError, NotFoundError
from agentops.runtime.rollouts.flags import Flags


class Empty(BaseModel):
    pass


def flagged_registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def flagged(ctx: Context, _: Empty) -> dict[str, Any]:
        return {"new_flow": await ctx.flag("new_flow")}

    return reg


def evaluate(f: dict[str, Any], *, agent: str = "a", user: str | None = "u1", task: str = "t1") -> tuple[Any, str]:
    e = Flags._evaluate("f", FlagSettings.model_validate(f), agent, user, task)
    return e.value, e.reason


def test_kill_beats_rules_beats_rollout_beats_default():
    rules = [{"user": "u1", "value": "vip"}, {"agent": "a", "value": "agent-a"}]
    assert evaluate({"killed": True, "rules": rules}) == (False, "kill")
    assert evaluate({"enabled": False, "rules": rules}) == (False, "off")
    assert evaluate({"rules": rules}) == ("vip", "rule 1")
    assert evaluate({"rules": rules}, user="u2") == ("agent-a", "rule 2")
    value, reason = evaluate({"rollout": 100}, user="u2")
    assert value is True and reason.startswith("rollout bucket")
    assert evaluate({"rollout": 0}, user="u2") == (False, "default")
    # Without a user the task is the unit; with unit = "task" it always is.
    assert evaluate({"rollout": 50}, user=None, task="t9") == evaluate({"rollout": 50, "unit": "task"}, task="t9")


@pytest.mark.parametrize("rollout", [1, 30, 75])
def test_rollout_buckets_are_sticky_and_match_the_share_over_10000_users(rollout: int):
    f = {"rollout": rollout}
    served = [evaluate(f, user=f"user-{i}")[0] for i in range(10_000)]
    assert served == [evaluate(f, user=f"user-{i}")[0] for i in range(10_000)]  # the same user, the same value
    sigma = (10_000 * rollout / 100 * (1 - rollout / 100)) ** 0.5
    assert abs(sum(served) - 100 * rollout) <= 4 * sigma


def test_variants_split_users_by_their_weights():
    f = {"default": "control", "variants": {"short": 50, "long": 30}}
    counts: dict[str, int] = {}
    for i in range(10_000):
        value = evaluate(f, user=f"user-{i}")[0]
        counts[value] = counts.get(value, 0) + 1
    for value, share in (("short", 50), ("long", 30), ("control", 20)):
        sigma = (10_000 * share / 100 * (1 - share / 100)) ** 0.5
        assert abs(counts[value] - 100 * share) <= 4 * sigma, counts


async def test_a_flip_is_audited_survives_a_restart_and_shows_in_the_next_traces(make_settings):
    settings = make_settings(flags={"new_flow": {"rollout": 0, "description": "the new refund flow"}})
    rt = Runtime(settings, flagged_registry())
    await rt.start()
    control = LocalControl.of(rt)
    try:
        before = await rt.run("flagged", {}, user_id="u1")
        assert before.output == {"new_flow": False}
        status = await control.set_flag("new_flow", {"rollout": 100}, actor="ana")
        assert status.definition["rollout"] == 100 and status.updated_by == "ana"
        after = await rt.run("flagged", {}, user_id="u1")
        assert after.output == {"new_flow": True}
        (task_span,) = [s for s in await rt.store.spans_for_task(after.id) if s.kind == "task"]
        recorded = task_span.attributes["agentops.flag.new_flow"]
        assert recorded["value"] is True and recorded["reason"].startswith("rollout bucket")
        (old_span,) = [s for s in await rt.store.spans_for_task(before.id) if s.kind == "task"]
        assert old_span.attributes["agentops.flag.new_flow"] == {"value": False, "reason": "default"}
        (listed,) = await control.flags()
        assert listed.per_minute == {"false": 0.2, "true": 0.2}  # one each, averaged over five minutes
        audit = [(a.actor, a.action, a.target, a.details) for a in await control.audit_log()]
        assert audit == [("ana", "flag.change", "flag:new_flow", {"rollout": {"from": 0.0, "to": 100.0}})]
        with pytest.raises(DecisionError, match="rollout"):
            await control.set_flag("new_flow", {"rollout": 150}, actor="ana")
        with pytest.raises(DecisionError, match="rolout"):
            await control.set_flag("new_flow", {"rolout": 5}, actor="ana")
        with pytest.raises(NotFoundError):
            await control.set_flag("nope", {"enabled": False}, actor="ana")
    finally:
        await rt.stop()

    again = Runtime(settings, flagged_registry())  # the live change survives a restart ...
    await again.start()
    try:
        assert (await again.run("flagged", {}, user_id="u1")).output == {"new_flow": True}
    finally:
        await again.stop()
    edited = make_settings(flags={"new_flow": {"rollout": 0, "description": "edited in the file"}})
    third = Runtime(edited, flagged_registry())  # ... until the file's definition changes
    await third.start()
    try:
        assert (await third.run("flagged", {}, user_id="u1")).output == {"new_flow": False}
    finally:
        await third.stop()


def asking_registry() -> Registry:
    reg = Registry()

    @agent(registry=reg)
    async def flag_then_ask(ctx: Context, _: Empty) -> dict[str, Any]:
        flow = await ctx.flag("new_flow")
        decision = await ctx.escalate("go on?")
        return {"new_flow": flow, "approved": decision.approved}

    return reg


async def test_a_flag_read_is_journaled_beside_the_steps_and_replays_its_first_value(make_settings):
    from runtime_support import start, wait_status

    settings = make_settings(flags={"new_flow": {"rollout": 0}}, workers={"poll_s": 0.05})
    rt = await start(settings, asking_registry(), workers=True)
    try:
        task, _ = await rt.submit("flag_then_ask", {}, user_id="u1")
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        assert pending.seq == 1  # the flag read took no step number
        await LocalControl.of(rt).set_flag("new_flow", {"rollout": 100}, actor="ana")
        await rt.tasks.escalations.decide(pending.id, "approve", actor="ana", via="test")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"new_flow": False, "approved": True}  # the value its first run saw
    finally:
        await rt.stop()


async def test_a_journal_that_numbered_flag_reads_as_steps_still_replays(make_settings):
    from runtime_support import start, wait_status

    settings = make_settings(flags={"new_flow": {"rollout": 0}}, workers={"poll_s": 0.05})
    queued = await start(settings, asking_registry())  # no workers: the task waits in the queue
    try:
        task, _ = await queued.submit("flag_then_ask", {}, user_id="u1")
        # As an earlier agentops journaled it: the flag read as step 1.
        await queued.tasks.journal.record(task.id, 1, "flag", "new_flow", "done", {"value": True, "reason": "rule 1"})
    finally:
        await queued.stop()
    rt = await start(settings, asking_registry(), workers=True)
    try:
        await wait_status(rt, task.id, "waiting")
        (pending,) = await rt.tasks.escalations.find()
        assert pending.seq == 2  # numbered after the journaled flag step, as that version did
        await rt.tasks.escalations.decide(pending.id, "approve", actor="ana", via="test")
        done = await wait_status(rt, task.id, "succeeded")
        assert done.output == {"new_flow": True, "approved": True}
    finally:
        await rt.stop()
