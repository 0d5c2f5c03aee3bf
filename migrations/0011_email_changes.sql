-- Email change (issue "The account is the user's"): one row per request. The new address gets
-- the confirmation link (`confirm_hash`, until `expires_at`, 24 h); the old address gets the
-- "this wasn't me" link (`cancel_hash`, until `cancel_until`, 14 days), which cancels a pending
-- change or, once the account's address has changed, restores `old_email`. While that link
-- works the old address stays reserved for this account: nobody can sign up with it or move
-- to it. Only the tokens' SHA-256 is stored. `closed_at`: no longer confirmable (cancelled,
-- withdrawn or superseded by a newer request); `cancelled_at`: the cancel link was used.
create table email_changes (
    id text not null,
    user_id text not null,
    old_email text not null,
    old_email_normalized text not null,
    new_email text not null,
    new_email_normalized text not null,
    confirm_hash text not null,
    cancel_hash text not null,
    created_at bigint not null,
    expires_at bigint not null,
    cancel_until bigint not null,
    confirmed_at bigint,
    closed_at bigint,
    cancelled_at bigint,
    constraint email_changes_pkey primary key (id),
    constraint email_changes_confirm_hash_key unique (confirm_hash),
    constraint email_changes_cancel_hash_key unique (cancel_hash),
    constraint email_changes_user_fkey foreign key (user_id) references users (id) on delete cascade
);
create index email_changes_user_idx on email_changes (user_id);
create index email_changes_old_email_idx on email_changes (old_email_normalized);
