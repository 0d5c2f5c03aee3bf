-- Finance data: accounts, transactions (with user overlays), budgets, and idempotency records
-- for transaction pushes. Money is integer minor units plus the ISO 4217 code.

create table accounts (
    id text primary key,
    workspace_id text not null,
    name text not null,
    currency text not null,
    kind text not null,
    -- manual accounts take pushes; bank accounts are filled by sync only
    source text not null default 'manual',
    created_at bigint not null,
    updated_at bigint not null,
    constraint accounts_source_check check (source in ('manual', 'bank')),
    constraint accounts_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
create index accounts_workspace_idx on accounts (workspace_id, created_at);

create table transactions (
    id text primary key,
    workspace_id text not null,
    account_id text not null,
    external_id text not null,
    amount_minor bigint not null,
    currency text not null,
    description text not null,
    booked_at bigint not null,
    category text,
    merchant text,
    -- user overlays: never touched by pushes or syncs, so they survive re-syncs
    category_override text,
    note text,
    -- JSON array of strings
    tags text,
    excluded bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    -- set by a bank sync when a row disappears upstream; hidden from lists
    removed_at bigint,
    constraint transactions_account_external_key unique (account_id, external_id),
    constraint transactions_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint transactions_account_fkey foreign key (account_id) references accounts (id) on delete cascade
);
create index transactions_workspace_booked_idx on transactions (workspace_id, booked_at, id);
create index transactions_account_booked_idx on transactions (account_id, booked_at);

-- Idempotency-Key records for pushes: per workspace and credential (user or key), 24 hours,
-- written in the same transaction as the rows they describe.
create table idempotency_keys (
    workspace_id text not null,
    owner text not null,
    idem_key text not null,
    request_hash text not null,
    status_code bigint,
    response_body text,
    created_at bigint not null,
    expires_at bigint not null,
    constraint idempotency_keys_pkey primary key (workspace_id, owner, idem_key)
);

create table budgets (
    id text primary key,
    workspace_id text not null,
    category text not null,
    -- YYYY-MM, UTC
    month text not null,
    limit_minor bigint not null,
    currency text not null,
    created_at bigint not null,
    updated_at bigint not null,
    constraint budgets_unique_key unique (workspace_id, category, month, currency),
    constraint budgets_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
