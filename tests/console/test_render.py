"""Plain-text rendering shared by the CLI and the console: a prompt version's model config,
the prompt versions a task ran, and cells that shorten to fit their column."""

from __future__ import annotations

from rich.console import Console

from agentops.console.format import Fitted, prompts_cell
from agentops.console.render import model_lines, prompt_lines, prompts_summary

CHEAP = [{"deployment": "emergency", "model": "openai/gpt-4.1-nano", "api_base": "sim"}]
STRONG = [{"deployment": "primary", "model": "openai/gpt-4o-mini", "api_base": "sim"}]
ROUTER = {
    "default": "default",
    "classifier_route": None,
    "rules": [
        {"route": "cheap", "agent": None, "prompt": "triage.classify", "max_chars": None, "labels": {}},
        {"route": None, "agent": "triage", "classifier": "router.classify", "labels": {"simple": "cheap"}},
    ],
}


def test_a_routers_model_config_shows_its_rules_and_every_routes_chain():
    lines = model_lines({"route": "auto", "chain": {"router": ROUTER, "routes": {"cheap": CHEAP, "default": STRONG}}})
    assert lines == [
        "model: router auto (default route default)",
        "    rule 1: prompt=triage.classify -> cheap",
        "    rule 2: agent=triage, classifier=router.classify -> simple -> cheap",
        "    route cheap:",
        "        emergency: openai/gpt-4.1-nano",
        "    route default:",
        "        primary: openai/gpt-4o-mini",
    ]


def test_a_plain_route_shows_its_chain_and_a_whole_version_reads_as_lines():
    assert model_lines({"route": "default", "chain": STRONG}) == [
        "model: route default",
        "    primary: openai/gpt-4o-mini",
    ]
    content = {"prompt": {"template": "{{ text }}"}, "model": {"route": "default", "chain": STRONG}}
    assert prompt_lines(content)[:3] == ["template:", "    {{ text }}", "model: route default"]


def test_the_prompts_a_task_ran_in_one_cell_that_shortens_to_fit():
    assert prompts_summary([]) == "-"
    assert prompts_summary(["triage.classify@v1"]) == "triage.classify@v1"
    assert prompts_summary(["triage.classify@v1", "router.classify@v2"]) == "triage.classify@v1 +1"
    cell = prompts_cell(["triage.classify@v1"], "triage")
    assert cell == Fitted(("triage.classify@v1", "classify@v1")) and cell.cell_len == 18

    def shown(c: Fitted, width: int) -> str:
        console = Console(width=width, record=True)
        console.print(c)
        return console.export_text().strip()

    assert shown(cell, 30) == "triage.classify@v1"
    assert shown(cell, 12) == "classify@v1"  # the agent column already says triage
    assert shown(cell, 6) == "class…"
