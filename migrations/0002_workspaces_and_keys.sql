-- Workspaces own finance data and API keys; every user has a personal one, made at signup.
create table workspaces (
    id text primary key,
    name text not null,
    -- set for a personal workspace: the user it belongs to (one each)
    personal_owner_id text,
    created_at bigint not null,
    constraint workspaces_personal_owner_key unique (personal_owner_id),
    constraint workspaces_personal_owner_fkey foreign key (personal_owner_id) references users (id) on delete cascade
);

create table workspace_members (
    workspace_id text not null,
    user_id text not null,
    role text not null,
    created_at bigint not null,
    constraint workspace_members_pkey primary key (workspace_id, user_id),
    constraint workspace_members_role_check check (role in ('owner', 'member')),
    constraint workspace_members_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint workspace_members_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index workspace_members_user_idx on workspace_members (user_id);

-- Personal workspaces for the users who signed up before workspaces existed. The id is derived
-- ('ws-' || user id) because SQL cannot mint a UUID portably; new ones get UUIDv7 ids.
insert into workspaces (id, name, personal_owner_id, created_at)
    select 'ws-' || id, 'Personal', id, created_at from users;
insert into workspace_members (workspace_id, user_id, role, created_at)
    select 'ws-' || id, id, 'owner', created_at from users;

-- API keys. Only the SHA-256 of the whole key is stored, plus a display hint.
create table api_keys (
    id text primary key,
    workspace_id text not null,
    -- the user who made it; the key acts as this user inside its workspace
    user_id text not null,
    name text not null,
    key_hash text not null,
    hint text not null,
    -- space-separated scope names
    scopes text not null,
    created_at bigint not null,
    -- null: never expires (allowed, flagged in the UI); a rotated key's grace end otherwise
    expires_at bigint,
    -- the expiry policy in days (null = never), reused when the key is rotated
    expiry_days bigint,
    revoked_at bigint,
    -- set on the new key made by rotating this one
    rotated_from text,
    last_used_at bigint,
    last_used_ip text,
    last_used_user_agent text,
    constraint api_keys_key_hash_key unique (key_hash),
    constraint api_keys_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade,
    constraint api_keys_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index api_keys_workspace_idx on api_keys (workspace_id, created_at);
create index audit_log_actor_key_idx on audit_log (actor_key_id, id);
