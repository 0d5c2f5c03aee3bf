-- Webhooks (issue "For apps built on pfn", part 3; docs/webhooks.md).
--
-- `webhook_endpoints`: where a workspace wants events. The signing secret is sealed under the
-- server secret (never stored in clear); after a rotation the previous one keeps signing beside
-- it until `previous_until`. `cursor_seq`: the newest event number already fanned out to this
-- endpoint. One worker at a time holds an endpoint (`lease_owner` until `lease_until`); while it
-- is failing it rests until `paused_until` (`fail_streak` passes in a row failed) and
-- `failing_since` says since when; past 5 days it is disabled (`disabled_reason`).
create table webhook_endpoints (
    id text not null,
    workspace_id text not null,
    created_by text,
    url text not null,
    description text not null default '',
    -- space-separated event types
    event_types text not null,
    enabled bigint not null default 1,
    disabled_reason text,
    secret_sealed text not null,
    previous_secret_sealed text,
    previous_until bigint,
    cursor_seq bigint not null,
    lease_owner text,
    lease_until bigint not null default 0,
    paused_until bigint not null default 0,
    fail_streak bigint not null default 0,
    failing_since bigint,
    last_success_at bigint,
    created_at bigint not null,
    updated_at bigint not null,
    constraint webhook_endpoints_pkey primary key (id),
    constraint webhook_endpoints_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
create index webhook_endpoints_workspace_idx on webhook_endpoints (workspace_id, created_at);

-- `webhook_events`: one row per change, written in the same database transaction as the change
-- and only while the workspace has an enabled endpoint. `seq` is the workspace's change number
-- (`workspaces.change_seq`, taken under the workspace's row lock), so events commit in the order
-- of their numbers and an endpoint's cursor never skips one. Rows of one change share the number
-- and are ordered by (type, resource). `created_at` is in milliseconds. Deleted once every
-- endpoint of the workspace has fanned them out.
create table webhook_events (
    workspace_id text not null,
    seq bigint not null,
    type text not null,
    resource_id text not null,
    -- JSON: what the payload carries besides the workspace and the resource id, or null
    detail text,
    created_at bigint not null,
    constraint webhook_events_pkey primary key (workspace_id, seq, type, resource_id),
    constraint webhook_events_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);

-- `webhook_deliveries`: one row per event and endpoint, made by the worker (never on the request
-- path). `status`: pending | delivered | failed (gave up after 3 days). `first_failed_at` is when
-- the delivery first failed; once it failed 3 times and the endpoint has accepted another message
-- since, it no longer holds back the later messages about the same resource. Times in ms.
create table webhook_deliveries (
    endpoint_id text not null,
    workspace_id text not null,
    seq bigint not null,
    type text not null,
    resource_id text not null,
    detail text,
    event_at bigint not null,
    status text not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    expires_at bigint not null,
    first_failed_at bigint,
    last_attempt_at bigint,
    response_status bigint,
    duration_ms bigint,
    error text,
    delivered_at bigint,
    created_at bigint not null,
    constraint webhook_deliveries_pkey primary key (endpoint_id, seq, type, resource_id),
    constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed')),
    constraint webhook_deliveries_endpoint_fkey foreign key (endpoint_id) references webhook_endpoints (id) on delete cascade
);
create index webhook_deliveries_pending_idx on webhook_deliveries (endpoint_id, status, seq);
create index webhook_deliveries_log_idx on webhook_deliveries (endpoint_id, created_at);

-- `key.expiring`: the notices already sent for a key (7 and 1 days before it expires).
alter table api_keys add column expiry_notice_days bigint;
-- `budget.exceeded`: when the budget's month went over its limit (once per budget; cleared when
-- the limit changes).
alter table budgets add column exceeded_at bigint;
