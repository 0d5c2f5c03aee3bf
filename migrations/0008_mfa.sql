-- Strong sign-in, part two (issue "Strong sign-in"): authenticator apps (TOTP), recovery codes
-- and sign-ins waiting for a second factor.

-- One authenticator per account. The secret is sealed with a key derived from PFN_SECRET
-- (ChaCha20-Poly1305, label pfn/totp/v1); `confirmed_at` is null until a code proved the app
-- has it. `last_step` is the last 30-second step whose code was accepted: a code is accepted
-- once.
create table totp_factors (
    user_id text not null,
    secret_sealed text not null,
    confirmed_at bigint,
    last_step bigint not null default 0,
    created_at bigint not null,
    constraint totp_factors_pkey primary key (user_id),
    constraint totp_factors_user_fkey foreign key (user_id) references users (id) on delete cascade
);

-- Ten single-use codes per account, stored as SHA-256 of their normalised text.
create table recovery_codes (
    user_id text not null,
    code_hash text not null,
    used_at bigint,
    created_at bigint not null,
    constraint recovery_codes_pkey primary key (user_id, code_hash),
    constraint recovery_codes_user_fkey foreign key (user_id) references users (id) on delete cascade
);

-- A correct password (or Google sign-in) of an account with a second factor: the pending-MFA
-- cookie holds a random token, this table its SHA-256. Five minutes, used once.
create table mfa_challenges (
    id_hash text not null,
    user_id text not null,
    how text not null,
    expires_at bigint not null,
    constraint mfa_challenges_pkey primary key (id_hash),
    constraint mfa_challenges_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index mfa_challenges_user_idx on mfa_challenges (user_id);
