-- agentops store, version 3: immutable prompt versions and their labels, canary and shadow
-- rollouts with shadow judgements, feature flags changed live, and prompt attribution of
-- LLM calls and ledger rows.

CREATE TABLE prompt_versions (
    prompt       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    artifact_id  TEXT NOT NULL UNIQUE,
    content      TEXT NOT NULL,       -- JSON: template, system, params, tools, output, route, source
    created_at   REAL NOT NULL,
    PRIMARY KEY (prompt, version)
);

-- A label (production, canary, shadow, latest, or any name) points at one version.
CREATE TABLE prompt_labels (
    prompt      TEXT NOT NULL,
    label       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  REAL NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (prompt, label)
);

-- One row per canary or shadow of a prompt version; status: active, promoted, rolled_back, stopped.
CREATE TABLE rollouts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt            TEXT NOT NULL,
    kind              TEXT NOT NULL,  -- canary | shadow
    version           INTEGER NOT NULL,
    base_version      INTEGER NOT NULL,
    stage             INTEGER NOT NULL DEFAULT 0,
    stage_started_at  REAL NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT,
    config            TEXT NOT NULL,  -- JSON: stages, margins, sample rate, budget
    started_at        REAL NOT NULL,
    started_by        TEXT NOT NULL,
    ended_at          REAL
);
CREATE INDEX rollouts_active ON rollouts (status, prompt);

CREATE TABLE shadow_results (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id         INTEGER NOT NULL,
    prompt             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    task_id            TEXT,
    score              REAL,
    reason             TEXT,
    production_output  TEXT,
    shadow_output      TEXT,
    cost_usd           REAL NOT NULL DEFAULT 0,
    error              TEXT,
    created_at         REAL NOT NULL
);
CREATE INDEX shadow_results_by_rollout ON shadow_results (rollout_id, created_at);

-- Flags as changed live (seeded from config.toml; config_hash notices edits to the file).
CREATE TABLE flags (
    name         TEXT PRIMARY KEY,
    definition   TEXT NOT NULL,       -- JSON
    config_hash  TEXT NOT NULL,
    updated_at   REAL NOT NULL,
    updated_by   TEXT NOT NULL
);

ALTER TABLE llm_calls ADD COLUMN prompt TEXT;
ALTER TABLE llm_calls ADD COLUMN prompt_version INTEGER;
ALTER TABLE llm_calls ADD COLUMN gate_failed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX llm_calls_by_prompt ON llm_calls (prompt, prompt_version, created_at);
ALTER TABLE ledger ADD COLUMN prompt TEXT;
