-- Finance-grade trust (issue "Finance-grade trust").

-- A random Tarabut customer id per workspace (X-TG-CustomerUserId), stored, so rotating
-- PFN_SECRET (which used to derive it) no longer orphans bank connections. Workspaces that
-- already talked to Tarabut keep the id their connections and intents carry; the others get a
-- random one on their first Connect.
alter table workspaces add column tarabut_customer_id text;
update workspaces set tarabut_customer_id = (
    select c.customer_user_id from bank_connections c
    where c.workspace_id = workspaces.id order by c.created_at limit 1);
update workspaces set tarabut_customer_id = (
    select i.customer_user_id from bank_intents i
    where i.workspace_id = workspaces.id order by i.created_at limit 1)
where tarabut_customer_id is null;
create unique index workspaces_tarabut_customer_idx on workspaces (tarabut_customer_id);

-- The feed of cache invalidations every replica reads (backend/src/coherence.rs): a key, a
-- user or a session that changed, stamped in milliseconds by the database's own clock.
create table cache_invalidations (
    id text primary key,
    kind text not null,
    target text not null,
    at_ms bigint not null,
    constraint cache_invalidations_kind_check check (kind in ('key', 'user', 'session'))
);
create index cache_invalidations_at_idx on cache_invalidations (at_ms);

-- Data changes SQL cannot make and checks it cannot report (backend/src/db/maintenance.rs),
-- each run once; what it found is kept in `report`.
create table maintenance (
    name text primary key,
    ran_at bigint not null,
    report text not null
);

-- The connection a completed Connect flow produced: a repeated callback (a refresh, a double
-- click) goes to it instead of failing.
alter table bank_intents add column connection_id text;
