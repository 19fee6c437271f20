-- Batch APIs: LLM requests sent through a provider's batch endpoint (half price, hours of
-- latency), the provider batch jobs that carry them, and tasks submitted to run by batch.

ALTER TABLE tasks ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;   -- 1: every LLM step goes by batch
ALTER TABLE ledger ADD COLUMN batch_job TEXT;                     -- the batch job that billed it
ALTER TABLE llm_calls ADD COLUMN batch_job TEXT;

-- One request waiting for, carried by or answered by a batch job. (task_id, seq) is the
-- task's journal step, so a step that runs again finds its request and never sends a second.
CREATE TABLE batch_requests (
    id            TEXT PRIMARY KEY,
    task_id       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    span_id       TEXT NOT NULL,        -- the call's span, llm_calls and ledger row (written once)
    parent_span_id TEXT,
    trace_id      TEXT NOT NULL,
    name          TEXT NOT NULL,        -- the step's name
    route         TEXT NOT NULL,
    deployment    TEXT NOT NULL,
    body          TEXT NOT NULL,        -- JSON: the chat request as the provider gets it
    scope         TEXT NOT NULL,        -- JSON: agent, user, session, prompt (attribution)
    status        TEXT NOT NULL,        -- pending | submitted | done | failed
    job_id        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    result        TEXT,                 -- JSON: text, tool calls, usage, cost (done)
    error         TEXT,                 -- why it failed (failed), or the last failed line
    created_at    REAL NOT NULL,
    finished_at   REAL,
    UNIQUE (task_id, seq)
);
CREATE INDEX batch_requests_by_status ON batch_requests (status, deployment, created_at);
CREATE INDEX batch_requests_by_job ON batch_requests (job_id);

-- One provider batch job. Written (submitting) with its requests before anything is sent,
-- and found again by its metadata after a crash, so a job is never sent twice.
CREATE TABLE batch_jobs (
    id            TEXT PRIMARY KEY,     -- ours, sent as metadata agentops_job
    deployment    TEXT NOT NULL,
    status        TEXT NOT NULL,        -- submitting | in_progress | completed | failed | expired | cancelled
    provider_batch_id TEXT,
    input_file_id TEXT,
    requests      INTEGER NOT NULL,
    succeeded     INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    saving_usd    REAL NOT NULL DEFAULT 0,
    owner         TEXT,                 -- the process polling it, under a lease
    lease_until   REAL,
    next_poll_at  REAL NOT NULL,
    polls         INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    created_at    REAL NOT NULL,
    submitted_at  REAL,
    finished_at   REAL
);
CREATE INDEX batch_jobs_by_status ON batch_jobs (status, next_poll_at);
