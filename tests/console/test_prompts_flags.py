"""The Prompts and Flags screens on a real runtime: listing, the diff, changes through the modals, live, read-only.

The runtime loads the built-in ``triage.classify`` prompt (v1, production); a copy with
a changed system line in ``prompts.dir`` then registers v2 (``latest``). Flags come
from the settings, as config.toml defines them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from console_sample import NOW, TRACE
from console_support import ConsoleTestApp, control_of, wait_for
from pydantic import BaseModel
from rich.table import Table
from textual.widgets import Input, Static

from agentops.console.app import ConsoleApp
from agentops.console.live import LiveBatch
from agentops.console.screens import ConfirmScreen, FlagsScreen, PromptsScreen
from agentops.console.screens.flags import parse_rollout
from agentops.runtime import Context, Event, LocalControl, Registry, Runtime, agent

SIZE = (120, 36)
ACTOR = "ana"
PROMPT = "triage.classify"
BUILTIN = Path(__file__).resolve().parents[2] / "runtime" / "agents" / "prompts" / f"{PROMPT}.toml"
OLD_LINE = "rate its urgency, and summarise it in one sentence. Reply with JSON only."
NEW_LINE = "rate its urgency, and summarise it in one short sentence. Reply with JSON only."
FLAGS = {
    "new_flow": {"rollout": 50, "description": "the new checkout flow"},
    "colour": {"variants": {"blue": 30, "green": 20}, "default": "red", "rules": [{"user": "u-1", "value": "blue"}]},
}


@pytest.fixture
async def rt(make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A runtime with two versions of triage.classify (v1 production, v2 latest) and two flags."""
    monkeypatch.setenv("AGENTOPS_ACTOR", ACTOR)
    folder = tmp_path / "prompts"
    folder.mkdir()
    settings = make_settings(routes={"default": {"chain": ["primary"]}}, prompts={"dir": str(folder)}, flags=FLAGS)
    runtime = Runtime(settings)
    await runtime.start()
    await runtime.wait_ready()
    text = BUILTIN.read_text()
    assert OLD_LINE in text
    (folder / BUILTIN.name).write_text(text.replace(OLD_LINE, NEW_LINE))
    assert runtime.prompts is not None
    await runtime.prompts.load()  # as at the next start: the changed file becomes v2
    yield runtime
    await runtime.stop()


def control(rt: Runtime) -> LocalControl:
    return LocalControl.of(rt)


async def console_actions(rt: Runtime, prefix: str) -> list[tuple[str, str, str, str]]:
    log = await control(rt).audit_log()
    return [(a.actor, a.via, a.action, a.target) for a in reversed(log) if a.action.startswith(prefix)]


def cells(table: Any, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def prompts_screen(pilot: Any) -> PromptsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.control is not None, what="connected")
    await pilot.press("5")
    screen = app.screen
    assert isinstance(screen, PromptsScreen)
    await wait_for(pilot, lambda: screen.versions, what="the first prompt's versions")
    table = screen.prompts_table
    table.move_cursor(row=table.get_row_index(PROMPT))
    await wait_for(pilot, lambda: screen.versions and screen.versions[0].prompt == PROMPT, what="the versions")
    return screen


async def pick(pilot: Any, screen: PromptsScreen, prompt: str, version: int) -> None:
    """Highlight a prompt, then one of its versions (the versions table focused)."""
    table = screen.prompts_table
    table.move_cursor(row=table.get_row_index(prompt))
    await wait_for(pilot, lambda: screen.versions and screen.versions[0].prompt == prompt, what=f"{prompt}'s versions")
    screen.versions_table.focus()
    screen.versions_table.move_cursor(row=screen.versions_table.get_row_index(f"{prompt}:{version}"))
    await pilot.pause()


async def modal(pilot: Any) -> ConfirmScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="the confirmation modal")
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    return screen


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


# -- prompts --------------------------------------------------------------------------------


async def test_the_screen_lists_prompts_versions_and_a_diff_against_production(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        summaries = await control(rt).prompts()
        assert list(screen.prompts) == [p.name for p in summaries]
        assert screen.prompts_table.row_count == len(summaries)
        row = cells(screen.prompts_table, PROMPT)
        assert row[:4] == [PROMPT, "2", "v1", "-"]
        assert row[4].startswith("Classify a support ticket")
        header = text_of(screen, "StatusBar")  # 120 columns: only the current screen's tab is named
        assert " 1 2 3 4 5 Prompts  6 " in header and "circuits ok" in header and "today $" in header
        await pilot.resize_terminal(200, 36)
        await wait_for(pilot, lambda: "1 Traces  2 Circuits" in text_of(screen, "StatusBar"), what="every tab named")
        assert "4 Escalations  5 Prompts  6 Flags" in text_of(screen, "StatusBar")
        await pilot.resize_terminal(*SIZE)

        versions = await control(rt).prompt_versions(PROMPT)
        assert [v.version for v in screen.versions] == [v.version for v in versions] == [2, 1]
        v2, v1 = (cells(screen.versions_table, f"{PROMPT}:{n}") for n in (2, 1))
        assert v2[0] == "v2" and v2[2] == versions[0].artifact_id and v2[3] == "latest" and v2[4] == "0"
        assert v1[0] == "v1" and v1[3] == "production"

        # The newest version is highlighted and compared with production: old line left, new line right.
        left, right = screen.diff_pair() or (None, None)
        assert (left.version, right.version) == (1, 2)
        diff = screen.query_one("#prompt-diff-text", Static).content
        assert isinstance(diff, Table)
        old_cells = [str(c) for c in diff.columns[0].cells]
        new_cells = [str(c) for c in diff.columns[1].cells]
        (removed,) = [c for c in old_cells if c.startswith("- ")]
        (added,) = [c for c in new_cells if c.startswith("+ ")]
        assert removed.startswith("-     You triage") and OLD_LINE in removed
        assert added.startswith("+     You triage") and NEW_LINE in added
        assert "v1 (production) ↔ v2 (latest)" in str(screen.query_one("#prompt-diff").border_title)

        # d pins the highlighted version as the left side...
        screen.versions_table.focus()
        await pilot.press("d")
        assert screen.base == 2 and cells(screen.versions_table, f"{PROMPT}:2")[0] == "v2 ◆"
        await pilot.press("j")
        left, right = screen.diff_pair() or (None, None)
        assert (left.version, right.version) == (2, 1)
        await pilot.press("k", "d")  # ... and d on the pinned one unpins it: production again
        assert screen.base is None
        assert cells(screen.versions_table, f"{PROMPT}:2")[0] == "v2"


async def test_promote_and_roll_back_through_the_modal(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        await pick(pilot, screen, PROMPT, 2)
        await pilot.press("P")
        confirm = await modal(pilot)
        shown = text_of(confirm, "#confirm-changes")
        assert "production  v1 → v2" in shown and "previous    vNone" not in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, what="the modal closed")
        by_name = {p.name: p for p in await control(rt).prompts()}
        assert by_name[PROMPT].labels["production"] == 2 and by_name[PROMPT].labels["previous"] == 1
        await wait_for(pilot, lambda: cells(screen.prompts_table, PROMPT)[2] == "v2", what="production v2 shown")
        assert any(n.title == f"prompt {PROMPT}" and "production=v2" in n.message for n in app._notifications)

        await pilot.press("R")
        confirm = await modal(pilot)
        assert "production  v2 → v1" in text_of(confirm, "#confirm-changes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.prompts_table, PROMPT)[2] == "v1", what="rolled back")
        by_name = {p.name: p for p in await control(rt).prompts()}
        assert by_name[PROMPT].labels["production"] == 1

        log = await console_actions(rt, "prompt.")
        assert (ACTOR, "console", "prompt.promote", PROMPT) in log
        assert (ACTOR, "console", "prompt.rollback", PROMPT) in log
        assert all(actor == ACTOR and via == "console" for actor, via, action, _ in log if action != "prompt.label")


async def test_a_canary_starts_shows_and_stops(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        await pick(pilot, screen, PROMPT, 2)
        await pilot.press("c")
        confirm = await modal(pilot)
        assert "canary  none → v2, against production v1" in text_of(confirm, "#confirm-changes")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: cells(screen.prompts_table, PROMPT)[3] == "canary v2 at 1%", what="the canary in the table"
        )
        (summary,) = [p for p in await control(rt).prompts() if p.name == PROMPT]
        assert summary.canary is not None and summary.canary.version == 2
        await wait_for(pilot, lambda: "canary" in cells(screen.versions_table, f"{PROMPT}:2")[3], what="the label")

        await pilot.press("c")  # a canary runs: c stops it
        confirm = await modal(pilot)
        assert "canary  v2 (at 1% of users) → stopped" in text_of(confirm, "#confirm-changes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.prompts_table, PROMPT)[3] == "-", what="the canary gone")
        assert [a[2] for a in await console_actions(rt, "prompt.canary")] == [
            "prompt.canary.start",
            "prompt.canary.stopped",
        ]

        await pilot.press("s")
        await modal(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.prompts_table, PROMPT)[3].startswith("shadow v2"), what="shadow")


async def test_a_refusal_is_shown_in_the_modal_and_changes_nothing(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        await pick(pilot, screen, PROMPT, 2)
        await pilot.press("c")
        confirm = await modal(pilot)
        # Meanwhile someone starts the canary from the CLI.
        await control(rt).prompt_action(PROMPT, "canary.start", version=2, actor="bob", via="cli")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "already running" in confirm.error, what="the refusal")
        assert app.screen is confirm
        assert await console_actions(rt, "prompt.canary") == [("bob", "cli", "prompt.canary.start", PROMPT)]
        await pilot.press("escape")
        assert app.screen is screen

        # Nothing to do: promoting production, or a canary of it, is refused before any modal.
        await pick(pilot, screen, PROMPT, 1)
        await pilot.press("P")
        await pilot.pause(0.1)
        assert app.screen is screen
        assert any("is production already" in n.message for n in app._notifications)


async def test_changes_made_elsewhere_show_live_and_canary_alerts_notify(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        await control(rt).prompt_action(PROMPT, "promote", version=2, actor="bob", via="cli")
        await wait_for(pilot, lambda: cells(screen.prompts_table, PROMPT)[2] == "v2", timeout=3, what="live promote")

        reason = "stage 1%: error rate 40.0% vs production 0.0% over 20 calls"
        rt.bus.publish("prompt.changed", prompt=PROMPT, change="canary.rolled_back", version=3, reason=reason)
        rt.bus.publish("prompt.alert", prompt=PROMPT, version=3, reason="shadow v3 scored 0.41 on average")
        await wait_for(pilot, lambda: len(app._notifications) >= 2, timeout=3, what="the alerts")
        titles = {n.title: n for n in app._notifications}
        rolled = titles[f"canary of {PROMPT} v3 rolled back (5: Prompts)"]
        assert rolled.message == reason and rolled.severity == "warning"
        assert titles[f"shadow of {PROMPT} v3 regressed (5: Prompts)"].message == "shadow v3 scored 0.41 on average"


# -- flags ----------------------------------------------------------------------------------


async def flags_screen(pilot: Any) -> FlagsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: app.control is not None, what="connected")
    await pilot.press("6")
    screen = app.screen
    assert isinstance(screen, FlagsScreen)
    await wait_for(pilot, lambda: screen.table.row_count == len(FLAGS), what="the flags")
    return screen


async def definition(rt: Runtime, name: str) -> dict[str, Any]:
    (f,) = [f for f in await control(rt).flags() if f.name == name]
    return f.definition


async def test_the_flags_screen_lists_what_the_control_returns(rt: Runtime) -> None:
    assert rt.flags is not None
    for i in range(10):
        rt.flags.evaluate("new_flow", agent="triage", user_id=f"u-{i}", task_id=f"t-{i}")
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await flags_screen(pilot)
        assert list(screen.flags) == sorted(f.name for f in await control(rt).flags())
        flow = cells(screen.table, "new_flow")
        assert flow[:5] == ["new_flow", "on", "50% → true", "false", "0"]
        (status,) = [f for f in await control(rt).flags() if f.name == "new_flow"]
        shown = " · ".join(f"{v} {r:.1f}/min" for v, r in sorted(status.per_minute.items(), key=lambda kv: -kv[1]))
        assert flow[5] == shown and flow[6].startswith("config")
        screen.table.move_cursor(row=screen.table.get_row_index("new_flow"))
        await pilot.pause()
        detail = text_of(screen, "#flag-detail")
        assert "the new checkout flow" in detail and "sticky by user" in detail
        colour = cells(screen.table, "colour")
        assert colour[1:5] == ["on", '"blue" 30% · "green" 20%', '"red"', "1"]
        screen.table.move_cursor(row=screen.table.get_row_index("colour"))
        await pilot.pause()
        assert 'rule 1: user u-1 → "blue"' in text_of(screen, "#flag-detail")
        assert "6 Flags" in text_of(screen, "StatusBar")

        for name, mode in (("prompts", "prompts"), ("flags", "flags")):  # the palette knows both screens
            await pilot.press("colon")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette", what="palette")
            await pilot.press(*name)
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda m=mode: app.current_mode == m, what=f"palette jump to {mode}")


async def test_flag_keys_with_no_flag_to_act_on_say_why(make_settings: Any, make_runtime: Any) -> None:
    rt = await make_runtime(make_settings())  # no [flags]
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.control is not None, what="connected")
        await pilot.press("6")
        screen = app.screen
        assert isinstance(screen, FlagsScreen)
        await wait_for(pilot, lambda: screen.loads > 0, what="the flags loaded")
        for key in ("space", "k", "r"):
            before = len(app._notifications)
            await pilot.press(key)
            await wait_for(pilot, lambda b=before: len(app._notifications) > b, what=f"a notice for {key}")
            (last,) = list(app._notifications)[-1:]
            assert last.title == "no flag to change" and "add one under [flags.NAME]" in last.message
            assert app.screen is screen  # no modal opened


async def test_toggle_kill_and_rollout_through_the_modals(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await flags_screen(pilot)
        screen.table.move_cursor(row=screen.table.get_row_index("new_flow"))
        await pilot.press("space")
        confirm = await modal(pilot)
        assert "enabled  true → false" in text_of(confirm, "#confirm-changes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.table, "new_flow")[1] == "off", what="off")
        assert (await definition(rt, "new_flow"))["enabled"] is False

        await pilot.press("t")
        await modal(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.table, "new_flow")[1] == "on", what="on again")

        await pilot.press("k")  # the kill switch, not the table's "up"
        confirm = await modal(pilot)
        assert "killed  false → true" in text_of(confirm, "#confirm-changes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.table, "new_flow")[1] == "KILLED", what="killed")
        assert (await definition(rt, "new_flow"))["killed"] is True
        assert "killed: new_flow" in text_of(screen, "#flags-info")

        await pilot.press("r")
        confirm = await modal(pilot)
        box = confirm.query_one("#confirm-value", Input)
        assert box.value == "50"
        box.value = "150"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "out of range" in confirm.error, what="the range check")
        assert app.screen is confirm and (await definition(rt, "new_flow"))["rollout"] == 50
        box.value = "25"
        await pilot.press("enter")
        await wait_for(pilot, lambda: cells(screen.table, "new_flow")[2] == "25% → true", what="the new rollout")
        assert (await definition(rt, "new_flow"))["rollout"] == 25
        assert cells(screen.table, "new_flow")[6].startswith(ACTOR)

        log = await console_actions(rt, "flag.change")
        assert [(actor, via, target) for actor, via, _, target in log] == [(ACTOR, "console", "flag:new_flow")] * 4
        details = [a.details for a in reversed(await control(rt).audit_log()) if a.action == "flag.change"]
        assert details[-1] == {"rollout": {"from": 50.0, "to": 25.0}}

        # A multi-variant flag has no single rollout percentage: r says so, no modal.
        screen.table.move_cursor(row=screen.table.get_row_index("colour"))
        await pilot.press("r")
        await pilot.pause(0.1)
        assert app.screen is screen
        assert any(n.title == "no rollout percentage" for n in app._notifications)


class NoInput(BaseModel):
    pass


async def test_a_flip_in_the_console_shows_in_the_next_tasks_trace(make_settings: Any) -> None:
    reg = Registry()

    @agent(registry=reg)
    async def flagged(ctx: Context, _: NoInput) -> dict[str, Any]:
        return {"new_flow": await ctx.flag("new_flow")}

    live = Runtime(make_settings(flags={"new_flow": {"rollout": 100}}), reg)
    await live.start()
    try:
        before = await live.run("flagged", {}, user_id="u1")
        app = ConsoleApp(control_of(live))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.control is not None, what="connected")
            await pilot.press("6")
            screen = app.screen
            assert isinstance(screen, FlagsScreen)
            await wait_for(pilot, lambda: screen.table.row_count == 1, what="the flag")
            await pilot.press("space")  # turn it off, confirmed
            await modal(pilot)
            await pilot.press("enter")
            await wait_for(pilot, lambda: cells(screen.table, "new_flow")[1] == "off", what="off")
        after = await live.run("flagged", {}, user_id="u1")
        spans = {
            t.id: next(sp for sp in await live.store.spans_for_task(t.id) if sp.kind == "task") for t in (before, after)
        }
        assert spans[before.id].attributes["agentops.flag.new_flow"]["value"] is True
        assert spans[after.id].attributes["agentops.flag.new_flow"] == {"value": False, "reason": "off"}
    finally:
        await live.stop()


async def test_a_flag_changed_elsewhere_shows_live(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt))
    async with app.run_test(size=SIZE) as pilot:
        screen = await flags_screen(pilot)
        await control(rt).set_flag("new_flow", {"rollout": 10}, actor="bob", via="cli")
        await wait_for(pilot, lambda: cells(screen.table, "new_flow")[2] == "10% → true", timeout=1.5, what="live")
        assert cells(screen.table, "new_flow")[6].startswith("bob")


def test_rollout_percentages_are_checked() -> None:
    assert parse_rollout(" 25 ") == 25.0
    assert parse_rollout("12.5%") == 12.5
    for bad, message in (("150", "out of range"), ("-1", "out of range"), ("lots", "not a number"), ("nan", "range")):
        with pytest.raises(ValueError, match=message):
            parse_rollout(bad)


# -- read-only ------------------------------------------------------------------------------


async def test_read_only_hides_and_refuses_prompt_and_flag_actions(rt: Runtime) -> None:
    app = ConsoleApp(control_of(rt), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await prompts_screen(pilot)
        await pick(pilot, screen, PROMPT, 2)
        assert all(screen.check_action(a, ()) is False for a in ("promote", "rollback", "canary", "shadow"))
        await pilot.pause(0.1)
        footer = {str(k.description) for k in screen.query("FooterKey")}
        assert "Pin diff" in footer and not {"Promote", "Roll back", "Canary", "Shadow"} & footer
        await pilot.press("P", "R", "c", "s")
        await pilot.pause(0.2)
        assert app.screen is screen
        assert "read-only" in text_of(screen, "#prompts-info")

        flags = await flags_screen(pilot)
        flags.table.move_cursor(row=1)
        assert all(flags.check_action(a, ()) is False for a in ("toggle_enabled", "kill", "rollout"))
        await pilot.press("space", "t", "r", "k")
        await pilot.pause(0.2)
        assert app.screen is flags
        assert flags.table.cursor_row == 0  # k fell through to the table: up
        footer = {str(k.description) for k in flags.query("FooterKey")}
        assert not {"On/off", "Kill switch", "Rollout %"} & footer

        assert [a for a in await control(rt).audit_log() if a.via == "console"] == []
        (summary,) = [p for p in await control(rt).prompts() if p.name == PROMPT]
        assert summary.labels["production"] == 1 and summary.canary is None and summary.shadow is None
        d = await definition(rt, "colour")
        assert d["enabled"] is True and d["killed"] is False


# -- live batches ---------------------------------------------------------------------------


def test_prompt_and_flag_events_fold_into_batches() -> None:
    events = [
        Event(1, "prompt.changed", {"prompt": "a", "change": "promote", "version": 2}, 0.0),
        Event(2, "prompt.alert", {"prompt": "b", "version": 3, "reason": "low score"}, 0.0),
        Event(3, "flag.changed", {"flag": "f", "changes": {"rollout": 5}, "actor": "ana"}, 0.0),
    ]
    batch = LiveBatch.of(events)
    assert batch.prompts == {"a", "b"} and batch.flags == {"f"}
    assert [c["change"] for c in batch.prompt_changes] == ["promote"]
    assert [a["reason"] for a in batch.prompt_alerts] == ["low score"]
    later = LiveBatch.of([Event(4, "prompt.changed", {"prompt": "c", "change": "canary.rolled_back"}, 0.0)])
    batch.merge(later)
    assert batch.prompts == {"a", "b", "c"} and len(batch.prompt_changes) == 2 and batch.events == 4


# -- snapshots ------------------------------------------------------------------------------


def _content(description: str, system: str, template: str, **extra: Any) -> dict[str, Any]:
    prompt = {
        **{"description": description, "agent": None, "route": None, "output": None, "tools": []},
        **{"system": system, "template": template, "params": {"temperature": 0}, "canary": {}, "shadow": {}},
    }
    return {
        "prompt": {**prompt, **extra},
        "model": {"route": "default", "chain": [{"deployment": "primary", "model": "openai/gpt-4o-mini"}]},
        "code_sha256": "9f2c4be0d1a7e3f5",
        "dependencies": {"agentops": "0.1.0", "litellm": "1.110.2"},
    }


CLASSIFY = "Classify a support ticket (billing, technical, account) with urgency and a summary"
SAMPLE_VERSIONS = [
    # prompt, artifact, age_s, system, template
    ("drafting.outline", "5a0c9d2e71b4f803", 9 * 86400, "You outline replies to customers.", "{{ topic }}"),
    (
        "drafting.outline",
        "c4e81f06a9d2b375",
        3600,
        "You outline replies to customers, in three bullets.",
        "{{ topic }}",
    ),
    ("triage.classify", "0be7d41c95a2f6e8", 14 * 86400, "You triage tickets. Reply with JSON.", "{{ text }}"),
    (
        "triage.classify",
        "7d3a9e05c18b4f62",
        5 * 86400,
        "You triage support tickets.\nReply with JSON only.",
        "{{ text }}",
    ),
    (
        "triage.classify",
        "e91f62b0a7c3d845",
        2 * 3600,
        "You triage support tickets.\nRate urgency from the customer's own words.\nReply with JSON only.",
        "Ticket: {{ text }}",
    ),
]


async def write_prompts_sample(rt: Runtime) -> None:
    """Two prompts (one with a canary at its second stage, one with a judged shadow), calls per version,
    and flags with fixed change times."""
    from agentops.store import LLMCallRecord, PromptStore

    assert rt.store is not None and rt.flags is not None
    prompts = PromptStore(rt.store)
    ages: dict[tuple[str, int], float] = {}
    for name, artifact, age, system, template in SAMPLE_VERSIONS:
        description = CLASSIFY if name == "triage.classify" else "Outline a reply to a customer"
        version, _ = await prompts.register(name, artifact, _content(description, system, template))
        ages[(name, version)] = age
    labels = [("triage.classify", "production", 2), ("triage.classify", "previous", 1),
              ("triage.classify", "latest", 3), ("drafting.outline", "production", 1),
              ("drafting.outline", "latest", 2)]  # fmt: skip
    for name, label, version in labels:
        await prompts.set_label(name, label, version, actor="ana", via="cli", action="prompt.label")
    canary = await prompts.start_rollout(
        "triage.classify", "canary", 3, 2, {"stages": [1, 10, 50, 100]}, actor="ana", via="console"
    )
    await prompts.advance(canary, 1)
    await prompts.set_label("triage.classify", "canary", 3, actor="ana", via="console", action="prompt.label")
    shadow = await prompts.start_rollout("drafting.outline", "shadow", 2, 1, {"sample": 1.0}, actor="ana", via="cli")
    await prompts.set_label("drafting.outline", "shadow", 2, actor="ana", via="cli", action="prompt.label")
    for i, score in enumerate((0.9, 0.8, 0.7, 0.75, 0.6)):
        await prompts.record_shadow(
            shadow, "drafting.outline", 2, f"t{i}", score=score, reason="ok", production_output="a",
            shadow_output="b", cost_usd=0.0001,
        )  # fmt: skip
    calls = [("triage.classify", 2, 40, 1, 2, 400.0), ("triage.classify", 3, 8, 1, 0, 650.0),
             ("drafting.outline", 1, 12, 0, 0, 900.0)]  # fmt: skip
    n = 0
    for name, version, count, errors, gate_failures, latency in calls:
        for i in range(count):
            n += 1
            ok = i >= errors
            await rt.store.record_llm_call(
                LLMCallRecord(
                    f"p{n:015d}", TRACE, None, "default", "openai/gpt-4o-mini", "primary", "ok" if ok else "error",
                    1, 0, 0, latency + i * 10, 120, 30, 0, 0.00004 if ok else 0.0, NOW - 600 + i,
                    prompt=name, prompt_version=version, gate_failed=i < errors + gate_failures and ok,
                ),
                None,
            )  # fmt: skip
    await rt.flags.change("checkout_v2", {"killed": True}, actor="ana", via="console")
    for i in range(25):
        rt.flags.evaluate("new_flow", agent="triage", user_id=f"u-{i}", task_id=f"t-{i}")
        rt.flags.evaluate("colour", agent="drafting", user_id=f"u-{i}", task_id=f"t-{i}")

    def fix_times(conn: Any) -> None:
        for (name, version), age in ages.items():
            conn.execute(
                "UPDATE prompt_versions SET created_at = ? WHERE prompt = ? AND version = ?", (NOW - age, name, version)
            )
        conn.execute("UPDATE flags SET updated_at = ?", (NOW - 3 * 3600,))
        conn.execute("UPDATE flags SET updated_at = ? WHERE name = 'checkout_v2'", (NOW - 300,))

    await rt.store.writer.transact(fix_times)
    await rt.store.writer.flush()
    await rt.flags.refresh()


@pytest.fixture
def prompts_sample_app(make_settings: Any, tmp_path: Path) -> ConsoleTestApp:
    flags = {**FLAGS, "checkout_v2": {"rollout": 10, "description": "the new payment page", "unit": "task"}}
    settings = make_settings(runtime={"agent_modules": []}, prompts={"dir": str(tmp_path / "none")}, flags=flags)

    async def start() -> Runtime:
        rt = Runtime(settings)  # no workers: no canary is evaluated, nothing moves
        await rt.start()
        await write_prompts_sample(rt)
        await rt.wait_ready()
        return rt

    return ConsoleTestApp(start, clock=lambda: NOW)


async def _ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.phase == "ready" and app.runtime_status is not None, what="ready")


def test_prompts_snapshot(snap_compare: Any, prompts_sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("5")
        screen = pilot.app.screen
        assert isinstance(screen, PromptsScreen)
        await wait_for(pilot, lambda: screen.versions, what="versions")
        await pilot.press("j")  # triage.classify: v3 (the canary) against production v2
        await wait_for(pilot, lambda: screen.versions and screen.versions[0].prompt == PROMPT, what="triage")
        await pilot.pause(0.1)

    assert snap_compare(prompts_sample_app, terminal_size=SIZE, run_before=run)


def test_flags_snapshot(snap_compare: Any, prompts_sample_app: ConsoleTestApp) -> None:
    async def run(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("6")
        screen = pilot.app.screen
        assert isinstance(screen, FlagsScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 3, what="flags")
        await pilot.press("j")  # checkout_v2: killed by ana
        await pilot.pause(0.1)

    assert snap_compare(prompts_sample_app, terminal_size=SIZE, run_before=run)
