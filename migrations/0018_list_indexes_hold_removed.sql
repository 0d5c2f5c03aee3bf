-- Lists hide removed transactions (`removed_at is null`). With `removed_at` in each index a
-- list reads in, the database checks it in the index: a list with a text, amount or pending
-- filter finds where each window of rows it checks ends in the index alone, and reads the
-- table only for the rows it checks (`db::finance::transactions::list_transactions`). The
-- account's index does not hold the workspace, which a list checks too: holding it made
-- pushes ~5 % slower (docs/benchmarks.md, 2026-12-06T14:30Z).
drop index transactions_workspace_booked_idx;
create index transactions_workspace_booked_idx
    on transactions (workspace_id, booked_at, id, removed_at);
drop index transactions_account_booked_idx;
create index transactions_account_booked_idx
    on transactions (account_id, booked_at, id, removed_at);
drop index transactions_category_booked_idx;
create index transactions_category_booked_idx
    on transactions (workspace_id, (coalesce(category_override, category)), booked_at, id, removed_at);
