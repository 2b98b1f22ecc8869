-- Issue 11, item 3: the request explorer (lib/audit-query) pages newest first by the keyset
-- (occurred_at, event_id) inside one tenant and a bounded time range, and filters on the fields
-- below. One index per filter, each ending in occurred_at, so a filtered page is an index range
-- scan in time order that stops at the page size, whatever the table holds. Created on the
-- partitioned parent, so every monthly partition (present and future) gets them.
CREATE INDEX IF NOT EXISTS audit_events_tenant_time_idx ON audit_events (tenant_id, occurred_at, event_id);
CREATE INDEX IF NOT EXISTS audit_events_outcome_time_idx ON audit_events (tenant_id, outcome, occurred_at);
CREATE INDEX IF NOT EXISTS audit_events_actor_time_idx ON audit_events (tenant_id, actor_user_id, occurred_at);
CREATE INDEX IF NOT EXISTS audit_events_department_time_idx ON audit_events (tenant_id, ((event->'actor'->>'department')), occurred_at);
CREATE INDEX IF NOT EXISTS audit_events_model_time_idx ON audit_events (tenant_id, ((event->'gen_ai'->>'request_model')), occurred_at);
CREATE INDEX IF NOT EXISTS audit_events_upstream_time_idx ON audit_events (tenant_id, ((event->'attributes'->>'upstream')), occurred_at);
CREATE INDEX IF NOT EXISTS audit_events_rule_time_idx ON audit_events (tenant_id, ((event->'policy'->>'rule')), occurred_at);
