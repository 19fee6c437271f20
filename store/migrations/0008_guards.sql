-- Guards: an agent's baseline of actions (its recent tasks, their calls and tools) and the
-- decisions the guards wrote to the audit log are read by agent, by task and by action.
CREATE INDEX tasks_by_agent ON tasks (agent, status, finished_at);
CREATE INDEX llm_calls_by_task ON llm_calls (task_id);
CREATE INDEX tool_calls_by_task ON tool_calls (task_id);
CREATE INDEX audit_by_action ON audit_log (action, at);
