-- A manual account's balance, kept with every change to its transactions (issue "For apps
-- built on pfn": balances from a running total, not a scan of the history). Bank accounts show
-- what the bank reports (`bank_accounts.balance_minor`); theirs stays 0 here.
alter table accounts add column balance_minor bigint not null default 0;
update accounts set balance_minor = coalesce(
    (select sum(t.amount_minor) from transactions t
     where t.account_id = accounts.id and t.removed_at is null), 0)
where source = 'manual';
