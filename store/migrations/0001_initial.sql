-- agentops store, version 1: tasks, spans, LLM calls, tool calls, the cost ledger,
-- circuit transitions. Times are Unix seconds (REAL); JSON columns hold TEXT.

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    agent         TEXT NOT NULL,
    user_id       TEXT,
    session_id    TEXT,
    status        TEXT NOT NULL,
    input         TEXT NOT NULL,
    output        TEXT,
    error_type    TEXT,
    error         TEXT,
    trace_id      TEXT NOT NULL,
    steps         INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL
);
CREATE INDEX tasks_by_created ON tasks (created_at);
CREATE INDEX tasks_by_status ON tasks (status, created_at);

-- OpenTelemetry-compatible: 128-bit trace ids (32 hex), 64-bit span ids (16 hex).
CREATE TABLE spans (
    span_id     TEXT PRIMARY KEY,
    trace_id    TEXT NOT NULL,
    parent_id   TEXT,
    task_id     TEXT,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    start_time  REAL NOT NULL,
    end_time    REAL,
    attributes  TEXT NOT NULL DEFAULT '{}',
    error       TEXT
);
CREATE INDEX spans_by_trace ON spans (trace_id, start_time);
CREATE INDEX spans_by_task ON spans (task_id, start_time);

CREATE TABLE llm_calls (
    span_id       TEXT PRIMARY KEY,
    task_id       TEXT,
    trace_id      TEXT NOT NULL,
    route         TEXT NOT NULL,
    model         TEXT,
    deployment    TEXT,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    retries       INTEGER NOT NULL,
    fallbacks     INTEGER NOT NULL,
    latency_ms    REAL NOT NULL,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    error_type    TEXT,
    error         TEXT,
    created_at    REAL NOT NULL
);
CREATE INDEX llm_calls_by_created ON llm_calls (created_at);

CREATE TABLE tool_calls (
    span_id     TEXT PRIMARY KEY,
    task_id     TEXT,
    tool        TEXT NOT NULL,
    arguments   TEXT NOT NULL,
    result      TEXT,
    status      TEXT NOT NULL,
    error_type  TEXT,
    error       TEXT,
    latency_ms  REAL NOT NULL,
    created_at  REAL NOT NULL
);

-- One row per billed provider response; span_id makes a retried write idempotent.
CREATE TABLE ledger (
    id            INTEGER PRIMARY KEY,
    span_id       TEXT NOT NULL UNIQUE,
    task_id       TEXT,
    agent         TEXT,
    user_id       TEXT,
    session_id    TEXT,
    model         TEXT NOT NULL,
    deployment    TEXT NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    priced        INTEGER NOT NULL,
    created_at    REAL NOT NULL
);
CREATE INDEX ledger_by_created ON ledger (created_at);

CREATE TABLE circuit_events (
    id          INTEGER PRIMARY KEY,
    deployment  TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          REAL NOT NULL
);
CREATE INDEX circuit_events_by_at ON circuit_events (at);
