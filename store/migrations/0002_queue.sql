-- agentops store, version 2: the durable task queue (leases, attempts, priorities,
-- idempotency keys), the step journal, escalations and the operator audit log.

ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN idempotency_key TEXT;
ALTER TABLE tasks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
ALTER TABLE tasks ADD COLUMN lease_owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_expires_at REAL;
ALTER TABLE tasks ADD COLUMN available_at REAL NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Claims walk this index in queue order (priority, then age) and stop at the first ready row.
CREATE INDEX tasks_claimable ON tasks (status, priority DESC, created_at);
CREATE INDEX tasks_by_lease ON tasks (status, lease_expires_at);

-- One row per step of a task, written before the agent continues. status 'started' marks
-- a tool that began but whose result was not recorded (the process died in between).
CREATE TABLE journal (
    task_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT,
    created_at  REAL NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE escalations (
    id              TEXT PRIMARY KEY,
    task_id         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    agent           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    context         TEXT NOT NULL DEFAULT 'null',
    proposed        TEXT NOT NULL DEFAULT 'null',
    tool            TEXT,
    status          TEXT NOT NULL,
    default_action  TEXT NOT NULL,
    created_at      REAL NOT NULL,
    deadline        REAL,
    decision        TEXT,
    decided_args    TEXT,
    comment         TEXT,
    decided_by      TEXT,
    decided_via     TEXT,
    decided_at      REAL,
    UNIQUE (task_id, seq)
);
CREATE INDEX escalations_pending ON escalations (status, created_at);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    actor    TEXT NOT NULL,
    via      TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_at ON audit_log (at);
