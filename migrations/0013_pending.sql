-- Pending transactions (issue "For apps built on pfn"): a bank's transaction that is not booked
-- yet (Tarabut/UK Open Banking `status: Pending`). Pushed transactions are booked.
alter table transactions add column pending bigint not null default 0;
