-- agentops store, version 7: alerts. One row per firing of an alert rule (for one key: the
-- whole runtime, an agent, a deployment, a task), with the figures that fired it; at most
-- one row per (rule, key) is firing at a time, however many processes evaluate the rules.
-- Silences hold a rule's key quiet until a time. Acknowledgements and silences are audited.

CREATE TABLE alerts (
    id            TEXT PRIMARY KEY,
    rule          TEXT NOT NULL,
    key           TEXT NOT NULL,
    severity      TEXT NOT NULL,
    status        TEXT NOT NULL,          -- 'firing' | 'resolved'
    summary       TEXT NOT NULL,
    figures       TEXT NOT NULL,          -- JSON: what fired it (value, threshold, window, ...)
    pending_since REAL NOT NULL,
    fired_at      REAL NOT NULL,
    resolved_at   REAL,
    resolution    TEXT,
    acked_by      TEXT,
    acked_at      REAL
);
CREATE UNIQUE INDEX alerts_one_firing ON alerts (rule, key) WHERE status = 'firing';
CREATE INDEX alerts_by_fired ON alerts (fired_at);

CREATE TABLE alert_silences (
    rule       TEXT NOT NULL,
    key        TEXT NOT NULL,
    until      REAL NOT NULL,
    by         TEXT NOT NULL,
    reason     TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (rule, key)
);

CREATE INDEX tool_calls_by_created ON tool_calls (created_at);
