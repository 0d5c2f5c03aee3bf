-- The transactions change feed (issue "For apps built on pfn"). Every change to a workspace's
-- transactions takes the workspace's next `change_seq` in the same database transaction; the
-- update holds the workspace's row until the commit, so changes commit in the order of their
-- numbers and a reader never sees a later number before an earlier one. A row keeps the number
-- it was created at (`created_seq`) and the number of its last change (`change_seq`); a deleted
-- row leaves a tombstone. Rows changed in one statement share a number and are ordered by id:
-- the feed's position is (number, id). Existing rows are recorded as added at number 1, so a
-- replay from the start equals the list. Tombstones older than PFN_CHANGES_RETENTION_DAYS are
-- compacted away; `changes_floor` is then the newest number compacted, and a position before
-- it can no longer be served.
alter table workspaces add column change_seq bigint not null default 0;
alter table workspaces add column changes_floor bigint not null default 0;
alter table transactions add column created_seq bigint not null default 0;
alter table transactions add column change_seq bigint not null default 0;
update transactions set created_seq = 1, change_seq = 1;
update workspaces set change_seq = 1
where exists (select 1 from transactions t where t.workspace_id = workspaces.id);
create index transactions_changes_idx on transactions (workspace_id, change_seq, id);

create table transaction_tombstones (
    workspace_id text not null,
    transaction_id text not null,
    seq bigint not null,
    deleted_at bigint not null,
    constraint transaction_tombstones_pkey primary key (workspace_id, transaction_id),
    constraint transaction_tombstones_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
create index transaction_tombstones_seq_idx on transaction_tombstones (workspace_id, seq, transaction_id);
