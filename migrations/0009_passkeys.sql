-- Strong sign-in, part three (issue "Strong sign-in"): passkeys (WebAuthn).

-- A user's passkeys. `credential` is webauthn-rs' `Passkey` as JSON: the credential id, the
-- public key, the signature counter and backup flags — nothing secret (a passkey's private key
-- never leaves the authenticator). `credential_id` (base64url) is unique across all accounts.
create table passkeys (
    id text not null,
    user_id text not null,
    credential_id text not null,
    name text not null,
    credential text not null,
    created_at bigint not null,
    last_used_at bigint,
    constraint passkeys_pkey primary key (id),
    constraint passkeys_credential_key unique (credential_id),
    constraint passkeys_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index passkeys_user_idx on passkeys (user_id);

-- A WebAuthn ceremony between its two requests: webauthn-rs' state (the challenge and what it
-- expects) kept on the server, so any replica can finish what another began. The client holds
-- a random ceremony id; this table its SHA-256. Five minutes, used once. `purpose` is
-- `register`, `sign_in`, `second_factor` or `reauth`; `user_id` is who may finish it (null for
-- a passkey-only sign-in, where the passkey says who it is).
create table webauthn_ceremonies (
    id_hash text not null,
    purpose text not null,
    user_id text,
    state text not null,
    expires_at bigint not null,
    constraint webauthn_ceremonies_pkey primary key (id_hash),
    constraint webauthn_ceremonies_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index webauthn_ceremonies_expires_idx on webauthn_ceremonies (expires_at);
