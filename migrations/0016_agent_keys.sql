-- Agent-safe keys (issue "Agent-safe keys"; docs/api-guide.md "Restricting a key").
--
-- `allowed_ips`: space-separated CIDRs the key may be used from (null: anywhere).
-- `account_ids`: space-separated account ids the key reaches (null: the whole workspace). It
-- fails closed: ids of deleted accounts reach nothing, and the list never becomes "all".
-- Quota: `quota_limit` uses, reset to the limit (not added) at each `quota_refill` (`daily` at
-- 00:00 UTC, `monthly` on the 1st, null: never); `quota_remaining` is what is left in the period
-- that starts at `quota_period` (unix seconds). Decremented in one conditional update, so
-- replicas share it exactly; the database, not Redis, holds it.
-- `rate_per_min` / `rate_burst`: this key's rate limit (null: the server's setting).
-- `network_alerted_at`: the last "used from a new network" mail (at most one a day).
alter table api_keys add column allowed_ips text;
alter table api_keys add column account_ids text;
alter table api_keys add column quota_limit bigint;
alter table api_keys add column quota_refill text;
alter table api_keys add column quota_remaining bigint;
alter table api_keys add column quota_period bigint;
alter table api_keys add column rate_per_min bigint;
alter table api_keys add column rate_burst bigint;
alter table api_keys add column network_alerted_at bigint;

-- The networks (IPv4 /24, IPv6 /48) each key has been used from.
create table key_networks (
    key_id text not null,
    network text not null,
    first_seen bigint not null,
    constraint key_networks_pkey primary key (key_id, network),
    constraint key_networks_key_fkey foreign key (key_id) references api_keys (id) on delete cascade
);

-- Requests per key and UTC day (`YYYY-MM-DD`) by outcome: `ok`, `rate_limited`, or
-- `denied:<reason>`. Each replica counts in memory and adds its counts here every minute.
create table key_usage (
    key_id text not null,
    day text not null,
    outcome text not null,
    count bigint not null,
    constraint key_usage_pkey primary key (key_id, day, outcome),
    constraint key_usage_key_fkey foreign key (key_id) references api_keys (id) on delete cascade
);

-- A deleted transaction's account, so a key restricted to some accounts hears only of theirs.
alter table transaction_tombstones add column account_id text;
