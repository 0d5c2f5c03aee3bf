-- Invitations to shared workspaces: sent by mail, accepted by a signed-in user whose verified
-- email matches; single use, 7 days. Only the token's SHA-256 is stored.
create table invitations (
    id text primary key,
    workspace_id text not null,
    email_normalized text not null,
    role text not null,
    token_hash text not null,
    invited_by text not null,
    created_at bigint not null,
    expires_at bigint not null,
    accepted_at bigint,
    constraint invitations_token_hash_key unique (token_hash),
    constraint invitations_role_check check (role in ('owner', 'member')),
    constraint invitations_workspace_fkey foreign key (workspace_id) references workspaces (id) on delete cascade
);
create index invitations_workspace_idx on invitations (workspace_id, email_normalized);
