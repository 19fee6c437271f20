-- agentops store, version 5: the prompt versions a task's agent ran, as a JSON list of
-- "name@vN" in the order of first use (the console's Traces list and `agentops traces` show it).

ALTER TABLE tasks ADD COLUMN prompts TEXT NOT NULL DEFAULT '[]';
