"""Command-line argument helpers shared by the CLI modules (importing no runtime, so parsing stays fast)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["COMMANDS", "UsageError", "add_connect", "add_parsers", "json_arg"]


class UsageError(Exception):
    """A bad command-line argument; the CLI prints it and exits with status 2."""


def json_arg(name: str, text: str) -> Any:
    """Parse a JSON argument, or raise UsageError naming the option and where the JSON breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


COMMANDS = frozenset(
    {
        "submit",
        "tasks",
        "cancel",
        "escalations",
        "approve",
        "deny",
        "worker",
        "prompts",
        "flags",
        "budgets",
        "cache",
        "batches",
        "alerts",
        "guards",
    }
)


def add_connect(parser: Any) -> None:
    """``--connect URL``: go through the control API of ``agentops serve`` instead of the local store."""
    parser.add_argument(
        "--connect",
        metavar="URL",
        default=None,
        help="use the control API of `agentops serve` at URL (token: $AGENTOPS_TOKEN) instead of the local store",
    )


def add_parsers(sub: Any) -> None:
    """Add this module's subcommands to the ``agentops`` parser."""
    s = sub.add_parser("submit", help="queue a task for the workers")
    s.add_argument("agent")
    s.add_argument("--input", required=True, help="the task input as JSON")
    s.add_argument("--key", default=None, help="idempotency key: the same key twice returns the same task")
    s.add_argument("--user", default=None)
    s.add_argument("--session", default=None)
    s.add_argument("--priority", type=int, default=0, help="higher runs first (default 0)")
    s.add_argument(
        "--batch",
        action="store_true",
        help="run its LLM steps by the provider's batch API: half price, answered within hours ([batch])",
    )
    add_connect(s)

    t = sub.add_parser("tasks", help="tasks in the queue and their states")
    t.add_argument(
        "--status", default=None, choices=["queued", "running", "waiting", "succeeded", "failed", "cancelled", "dead"]
    )
    t.add_argument("--agent", default=None)
    t.add_argument("--limit", type=int, default=30)
    add_connect(t)

    c = sub.add_parser("cancel", help="cancel a task (queued or waiting: at once; running: at its next step)")
    c.add_argument("id", help="task id or unique prefix")
    add_connect(c)

    e = sub.add_parser("escalations", help="decisions waiting for an operator, oldest first")
    e.add_argument("--all", action="store_true", help="also decided ones, newest first")
    add_connect(e)

    a = sub.add_parser("approve", help="approve an escalation (optionally with edited arguments)")
    a.add_argument("id", help="escalation id or unique prefix")
    a.add_argument("--edit", default=None, help="replacement arguments as JSON (validated against the tool)")
    a.add_argument("--comment", default=None)
    add_connect(a)

    d = sub.add_parser("deny", help="deny an escalation; the agent receives the reason")
    d.add_argument("id", help="escalation id or unique prefix")
    d.add_argument("--reason", required=True)
    add_connect(d)

    sub.add_parser("worker", help="run the durable queue's workers in this process until Ctrl-C / SIGTERM")
    al = sub.add_parser(
        "alerts",
        help="alerts firing (or all, --all); ack ID; silence ID --for SPAN",
        description="list (the default): alerts firing now, with what fired them. ack ID: acknowledge one"
        " (an alert raised by an event, a canary rollback, resolves). silence ID --for 4h: hold its rule and key"
        " quiet (firings are recorded, not delivered). Acknowledgements and silences are audited.",
    )
    al.add_argument("action", nargs="?", default="list", choices=["list", "ack", "silence"])
    al.add_argument("id", nargs="?", default=None, help="alert id or unique prefix")
    al.add_argument("--all", action="store_true", help="list: resolved ones too, newest first")
    al.add_argument("--limit", type=int, default=50)
    al.add_argument("--for", dest="duration", default=None, metavar="SPAN", help="silence: how long (30m, 4h, 1d)")
    al.add_argument("--reason", default=None, help="silence: why (in the audit log)")
    add_connect(al)
    g = sub.add_parser(
        "guards",
        help="guard decisions: injections flagged or blocked, PII redacted, prompt echoes, behaviour",
        description="Decisions other than pass, newest first, with the reason and an excerpt of the text"
        " (personal data masked).",
    )
    g.add_argument("--guard", default=None, choices=["injection", "output_pii", "prompt_echo", "behaviour"])
    g.add_argument("--agent", default=None)
    g.add_argument("--since", default="24h", help="how far back (default 24h)")
    g.add_argument("--limit", type=int, default=50)
    g.add_argument("--json", action="store_true", help="JSON instead of a table")
    add_connect(g)
    _prompt_parsers(sub)
    _cost_parsers(sub)


def _prompt_parsers(sub: Any) -> None:
    """``prompts`` and ``flags``."""
    p = sub.add_parser(
        "prompts",
        help="prompt versions: list, show, diff, promote, rollback, canary, shadow, stop, label",
        description="list: every prompt and its labels. show NAME: versions with live figures. diff NAME A B."
        " promote NAME V / rollback NAME: move the production label. canary NAME V / shadow NAME V: start one;"
        " stop NAME --kind canary|shadow. label NAME V --label L: point a label of your own at a version"
        " (agent code picks it with ctx.llm(NAME, vars, label=L)).",
    )
    p.add_argument(
        "action", choices=["list", "show", "diff", "promote", "rollback", "canary", "shadow", "stop", "label"]
    )
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("versions", nargs="*", type=int, help="version number(s)")
    p.add_argument("--kind", choices=["canary", "shadow"], default=None, help="for stop")
    p.add_argument("--label", default=None, help="for label: the label to point at VERSION (none: remove it)")
    p.add_argument("--since", default="24h", help="figures over this span for show (default 24h)")
    add_connect(p)
    f = sub.add_parser(
        "flags",
        help="feature flags: list, on, off, kill, rollout, set",
        description="list: every flag with its state and evaluations. on/off/kill NAME. rollout NAME PERCENT."
        ' set NAME key=value ... (JSON values: rollout=25 variants=\'{"a": 50, "b": 50}\').',
    )
    f.add_argument("action", choices=["list", "on", "off", "kill", "rollout", "set"])
    f.add_argument("name", nargs="?", default=None)
    f.add_argument("value", nargs="?", default=None, help="the percentage, for rollout")
    f.add_argument("pairs", nargs="*", help="key=value, for set")
    add_connect(f)


def _cost_parsers(sub: Any) -> None:
    """``budgets`` and ``cache``."""
    b = sub.add_parser(
        "budgets",
        help="budget caps and their use today: list, set SCOPE KEY CAP",
        description="list (the default): every capped budget in use today, with its use against the cap, what"
        " calls in flight hold, the rate over the last 15 minutes, the time to the cap at that rate, and the"
        " action over it. set SCOPE KEY CAP: change a cap live (audited); SCOPE is task, session (tokens),"
        " user-day, agent-day or global-day (USD); KEY the id, or * for global-day and for a scope's default.",
    )
    b.add_argument("action", nargs="?", choices=["list", "set"], default="list")
    b.add_argument("scope", nargs="?", default=None, help="for set: task, session, user-day, agent-day, global-day")
    b.add_argument("key", nargs="?", default=None, help="for set: the task, session, user or agent id (or *)")
    b.add_argument("cap", nargs="?", default=None, help="for set: USD (the *-day scopes) or tokens (task, session)")
    add_connect(b)
    c = sub.add_parser(
        "cache",
        help="the response cache: stats (hit rate, savings, entries), clear",
        description="stats (the default): calls, exact and semantic hits, what cached answers and provider prompt"
        " caching saved, and the entries held. clear: drop cached answers, all or one prompt's (audited).",
    )
    c.add_argument("action", nargs="?", choices=["stats", "clear"], default="stats")
    c.add_argument("--since", default="24h", help="for stats: how far back, e.g. 30m, 24h, 7d (default 24h)")
    c.add_argument("--prompt", default=None, help="for clear: only this prompt's answers (every version)")
    c.add_argument("--yes", action="store_true", help="for clear: do not ask for confirmation")
    add_connect(c)
    j = sub.add_parser(
        "batches",
        help="provider batch jobs: in flight and settled, their cost at the batch rate and the saving",
        description="Batch jobs, newest first: status, requests, lines answered and failed, cost and saving;"
        " then the totals since --since (jobs in flight, requests waiting, batch spend and saving).",
    )
    j.add_argument("--in-flight", action="store_true", help="only jobs not settled yet")
    j.add_argument("--limit", type=int, default=20, help="jobs to list (default 20)")
    j.add_argument("--since", default="24h", help="totals over this far back: 30m, 24h, 7d (default 24h)")
    add_connect(j)
