-- agentops store, version 4: cost control. Cache attribution and savings on calls and the
-- ledger, the response cache (exact and semantic entries), and budget caps changed live.

ALTER TABLE llm_calls ADD COLUMN cache TEXT;              -- 'exact' | 'semantic' when served from the cache
ALTER TABLE ledger ADD COLUMN cache TEXT;                 -- same, on the ledger row (cost 0)
ALTER TABLE ledger ADD COLUMN saving_usd REAL NOT NULL DEFAULT 0;
-- what a cache saved: the cached answer's original cost, or a provider's cached input tokens
-- priced at the full rate minus their cached rate
CREATE INDEX ledger_by_task ON ledger (task_id);        -- task and session budgets read these
CREATE INDEX ledger_by_session ON ledger (session_id);

-- One cached answer. kind 'exact': key is the request's hash; kind 'semantic': key is the
-- namespace (prompt artifact | request shape | scope) and text/vector the cacheable text.
CREATE TABLE cache_entries (
    id          TEXT PRIMARY KEY,       -- the span id of the call whose answer it is
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    prompt      TEXT,                   -- name@vN, for invalidation and figures
    artifact    TEXT,
    text        TEXT,
    vector      BLOB,
    response    TEXT NOT NULL,          -- JSON: text, tool calls, usage, model, deployment
    cost_usd    REAL NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL,
    hits        INTEGER NOT NULL DEFAULT 0,
    last_hit_at REAL
);
CREATE INDEX cache_entries_by_key ON cache_entries (kind, key);
CREATE INDEX cache_entries_by_artifact ON cache_entries (artifact);

-- A cap set live (by an operator or an approved budget escalation); key '*' changes a scope's default.
CREATE TABLE budget_caps (
    scope       TEXT NOT NULL,          -- task | session | user-day | agent-day | global-day
    key         TEXT NOT NULL,
    cap         REAL NOT NULL,          -- USD for *-day scopes, tokens for task and session
    updated_at  REAL NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
