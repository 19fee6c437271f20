-- agentops store, version 6: sub-tasks. A task spawned by another's step (ctx.spawn) names
-- its parent and the span it hangs from (its trace is the parent's); a parent waiting in
-- ctx.gather is 'waiting' with awaiting_subtasks = 1 until its last sub-task ends.

ALTER TABLE tasks ADD COLUMN parent_id TEXT;
ALTER TABLE tasks ADD COLUMN parent_span_id TEXT;
ALTER TABLE tasks ADD COLUMN awaiting_subtasks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tasks_by_parent ON tasks (parent_id, finished_at) WHERE parent_id IS NOT NULL;
