-- Accounts, sign-in, sessions, emailed tokens, audit log and the mail outbox.
--
-- Portable across SQLite and PostgreSQL through sqlx::Any (docs/architecture.md):
-- ids are app-generated TEXT (UUID v7), times are BIGINT unix seconds set by the app,
-- booleans are nullable timestamps or INTEGER 0/1, placeholders are $n.

create table users (
    id text primary key,
    -- as the user typed it (trimmed), for display and mail
    email text not null,
    -- lower-cased: uniqueness, lookups, lockout and rate-limit keys
    email_normalized text not null,
    name text not null,
    -- argon2id PHC string; null for accounts that only sign in with an external provider
    password_hash text,
    role text not null default 'user',
    email_verified_at bigint,
    disabled_at bigint,
    created_at bigint not null,
    updated_at bigint not null,
    constraint users_email_normalized_key unique (email_normalized),
    constraint users_role_check check (role in ('user', 'admin'))
);

-- External sign-in identities (Google); filled by the Google issue, read by /auth/me.
create table identities (
    provider text not null,
    subject text not null,
    user_id text not null,
    email text,
    created_at bigint not null,
    constraint identities_pkey primary key (provider, subject),
    constraint identities_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index identities_user_idx on identities (user_id);

-- Server-side sessions (tower-sessions store). The cookie carries the session id; only its
-- SHA-256 is kept, so a database leak does not hand out live sessions.
create table sessions (
    id_hash text primary key,
    -- public handle for the sessions list ("end this session"); not a credential
    public_id text not null,
    user_id text not null,
    -- the tower-sessions record (JSON); holds no secret
    data text not null,
    ip text,
    user_agent text,
    created_at bigint not null,
    last_seen_at bigint not null,
    -- absolute expiry (created + 30 days); the idle rule (last_seen + 7 days) is enforced on read
    expires_at bigint not null,
    constraint sessions_public_id_key unique (public_id),
    constraint sessions_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index sessions_user_idx on sessions (user_id, created_at);
create index sessions_expires_idx on sessions (expires_at);

-- Single-use emailed tokens (email verification, password reset); only SHA-256 stored.
create table email_tokens (
    token_hash text primary key,
    user_id text not null,
    purpose text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint,
    constraint email_tokens_purpose_check check (purpose in ('verify_email', 'reset_password')),
    constraint email_tokens_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index email_tokens_user_idx on email_tokens (user_id, purpose);

-- Consecutive failed sign-ins per normalised email, whether or not an account exists, so the
-- lockout itself reveals nothing. Lives in the database so every replica sees the same lock.
create table login_throttle (
    email_key text primary key,
    failures bigint not null,
    locked_until bigint,
    updated_at bigint not null
);

-- Append-only security log, visible to the user it concerns (user_id).
create table audit_log (
    id text primary key,
    type text not null,
    occurred_at bigint not null,
    -- whose log this row appears in; null for failed sign-ins to unknown emails
    user_id text,
    actor_user_id text,
    actor_key_id text,
    ip text,
    user_agent text,
    target_type text,
    target_id text,
    outcome text not null,
    constraint audit_log_outcome_check check (outcome in ('success', 'failure', 'denied'))
);
-- no foreign key on user_id: audit rows outlive what they describe
create index audit_log_user_idx on audit_log (user_id, id);

-- Transactional outbox: a mail is written in the same transaction as its token and sent by a
-- worker with retries. The body carries single-use links, so it is sealed (ChaCha20-Poly1305,
-- key derived from PFN_SECRET) and wiped once sent.
create table mail_outbox (
    id text primary key,
    -- as addressed; recipient_key is its normalised form, for the per-recipient hourly cap
    recipient text not null,
    recipient_key text not null,
    subject text not null,
    body_sealed text,
    created_at bigint not null,
    attempts bigint not null default 0,
    next_attempt_at bigint not null,
    -- lease so that one replica sends each mail
    locked_until bigint,
    sent_at bigint,
    failed_at bigint,
    last_error text
);
create index mail_outbox_due_idx on mail_outbox (sent_at, next_attempt_at);
create index mail_outbox_recipient_idx on mail_outbox (recipient_key, created_at);
