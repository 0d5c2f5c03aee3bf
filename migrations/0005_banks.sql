-- Bank connections through Tarabut: pending intents, connections (one per consent), the link
-- between our accounts and Tarabut's, syncs with their progress, and a daily balance history.

-- A Connect flow in progress. The callback only completes an intent started by the same user
-- (the row is the "state" of the flow); used_at makes a replayed callback harmless.
create table bank_intents (
    intent_id text primary key,
    workspace_id text not null,
    user_id text not null,
    customer_user_id text not null,
    provider_id text,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint,
    constraint bank_intents_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint bank_intents_user_fkey foreign key (user_id) references users (id) on delete cascade
);

create table bank_connections (
    id text primary key,
    workspace_id text not null,
    -- who connected it
    user_id text not null,
    -- the opaque Tarabut customer id (X-TG-CustomerUserId), derived from the workspace
    customer_user_id text not null,
    provider_id text not null,
    consent_id text not null,
    -- active | reauth_required | expired | revoked ("syncing" is derived from a running sync)
    status text not null,
    consent_expires_at bigint,
    last_sync_at bigint,
    -- succeeded | failed
    last_sync_status text,
    last_sync_error text,
    next_sync_at bigint,
    -- the database lease that makes a sync run on one replica at a time
    sync_lease_owner text,
    sync_lease_until bigint,
    created_at bigint not null,
    updated_at bigint not null,
    constraint bank_connections_status_check check (status in ('active', 'reauth_required', 'expired', 'revoked')),
    constraint bank_connections_consent_key unique (workspace_id, consent_id),
    constraint bank_connections_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
create index bank_connections_workspace_idx on bank_connections (workspace_id, created_at);
create index bank_connections_due_idx on bank_connections (status, next_sync_at);

-- Our account row for each Tarabut account. Keyed by (workspace, Tarabut account id), so a bank
-- connected again re-links the same accounts instead of duplicating them and their history.
create table bank_accounts (
    account_id text primary key,
    workspace_id text not null,
    connection_id text not null,
    tarabut_account_id text not null,
    provider_id text not null,
    -- e.g. an IBAN's last four or a masked PAN; never the full identifier
    identifier_hint text,
    balance_minor bigint,
    balance_at bigint,
    constraint bank_accounts_tarabut_key unique (workspace_id, tarabut_account_id),
    constraint bank_accounts_account_fkey foreign key (account_id) references accounts (id) on delete cascade,
    constraint bank_accounts_connection_fkey foreign key (connection_id) references bank_connections (id) on delete cascade
);
create index bank_accounts_connection_idx on bank_accounts (connection_id);

-- One row per sync. Progress is written with each batch of rows, in the same transaction; a
-- sync that dies resumes at the account it was in (its pages are read again; rows already
-- written compare equal and are not written twice).
create table bank_syncs (
    id text primary key,
    connection_id text not null,
    -- queued | running | succeeded | failed
    status text not null,
    -- manual | scheduled | connect
    reason text not null,
    -- index into the connection's accounts (ordered by Tarabut id) and the next page to fetch
    account_index bigint not null default 0,
    next_page bigint not null default 1,
    pages_fetched bigint not null default 0,
    rows_added bigint not null default 0,
    rows_updated bigint not null default 0,
    rows_removed bigint not null default 0,
    attempts bigint not null default 0,
    error text,
    created_at bigint not null,
    started_at bigint,
    finished_at bigint,
    constraint bank_syncs_status_check check (status in ('queued', 'running', 'succeeded', 'failed')),
    constraint bank_syncs_connection_fkey foreign key (connection_id) references bank_connections (id) on delete cascade
);
create index bank_syncs_connection_idx on bank_syncs (connection_id, created_at);
create index bank_syncs_status_idx on bank_syncs (status);

-- End-of-day balance per bank account, kept as a history (one row per account and UTC day).
create table balance_history (
    account_id text not null,
    day text not null,
    balance_minor bigint not null,
    currency text not null,
    recorded_at bigint not null,
    constraint balance_history_pkey primary key (account_id, day),
    constraint balance_history_account_fkey foreign key (account_id) references accounts (id) on delete cascade
);
