-- Data at scale (issue "Data at scale").
--
-- `transaction_rollups` (and `_weekly`, `_monthly`): what the spending and income insights and budgets sum, per workspace,
-- account, currency, effective category (the caller's override, else the bank's, else
-- `uncategorized`), UTC day (days since 1970-01-01, rounded down) and direction (`outflow` 1:
-- amounts below zero; 0: above zero), over the transactions that count (not excluded, not
-- removed, amount not zero). Every write to `transactions` changes the rows it touches in the
-- same database transaction (`db::finance::rollups`); the amounts are kept as two exact halves,
-- `sum_high` = sum(amount / 10^6) and `sum_low` = sum(amount % 10^6), so no sum leaves bigint.
-- The rows are built from the existing transactions by the maintenance task
-- `0017_transaction_rollups`, right after this migration.
create table transaction_rollups (
    workspace_id text not null,
    account_id text not null,
    currency text not null,
    category text not null,
    day bigint not null,
    outflow bigint not null,
    tx_count bigint not null,
    sum_high bigint not null,
    sum_low bigint not null,
    constraint transaction_rollups_pkey primary key (workspace_id, outflow, day, account_id, currency, category),
    constraint transaction_rollups_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint transaction_rollups_account_fkey foreign key (account_id) references accounts (id) on delete cascade
);
create index transaction_rollups_account_idx on transaction_rollups (account_id);

-- The same per UTC calendar month (`month` = year * 12 + month - 1), so a window of whole
-- months reads a row per month rather than per day.
create table transaction_rollups_monthly (
    workspace_id text not null,
    account_id text not null,
    currency text not null,
    category text not null,
    month bigint not null,
    outflow bigint not null,
    tx_count bigint not null,
    sum_high bigint not null,
    sum_low bigint not null,
    constraint transaction_rollups_monthly_pkey primary key (workspace_id, outflow, month, account_id, currency, category),
    constraint transaction_rollups_monthly_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint transaction_rollups_monthly_account_fkey foreign key (account_id) references accounts (id) on delete cascade
);
create index transaction_rollups_monthly_account_idx on transaction_rollups_monthly (account_id);

-- The same per week (`week` = day number / 7, rounded down): the whole weeks of a window's
-- partial months.
create table transaction_rollups_weekly (
    workspace_id text not null,
    account_id text not null,
    currency text not null,
    category text not null,
    week bigint not null,
    outflow bigint not null,
    tx_count bigint not null,
    sum_high bigint not null,
    sum_low bigint not null,
    constraint transaction_rollups_weekly_pkey primary key (workspace_id, outflow, week, account_id, currency, category),
    constraint transaction_rollups_weekly_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint transaction_rollups_weekly_account_fkey foreign key (account_id) references accounts (id) on delete cascade
);
create index transaction_rollups_weekly_account_idx on transaction_rollups_weekly (account_id);

-- Insights read every column of the rollup rows in a range: covering indexes let SQLite (and
-- PostgreSQL's index-only scans) answer from the index alone.
create index transaction_rollups_read_idx on transaction_rollups
    (workspace_id, outflow, day, currency, category, account_id, tx_count, sum_high, sum_low);
create index transaction_rollups_weekly_read_idx on transaction_rollups_weekly
    (workspace_id, outflow, week, currency, category, account_id, tx_count, sum_high, sum_low);
create index transaction_rollups_monthly_read_idx on transaction_rollups_monthly
    (workspace_id, outflow, month, currency, category, account_id, tx_count, sum_high, sum_low);

-- Lists filtered by account or by category, newest first, page after page: each filter has an
-- index in the list's order, (booked_at, id), so a page reads only its own rows.
drop index transactions_account_booked_idx;
create index transactions_account_booked_idx on transactions (account_id, booked_at, id);
create index transactions_category_booked_idx
    on transactions (workspace_id, (coalesce(category_override, category)), booked_at, id);
