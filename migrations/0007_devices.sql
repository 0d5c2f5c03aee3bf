-- Strong sign-in, part one (issue "Strong sign-in"): the devices an account signed in from, for
-- "a sign-in from a new device" mails, and how each session signed in.

-- A device is its browser family, operating system and network (/24 or /48), hashed
-- (backend/src/device.rs); one row per account and device.
create table known_devices (
    user_id text not null,
    fingerprint text not null,
    first_seen_at bigint not null,
    last_seen_at bigint not null,
    constraint known_devices_pkey primary key (user_id, fingerprint),
    constraint known_devices_user_fkey foreign key (user_id) references users (id) on delete cascade
);

-- `password` or `google`; sessions from before this column say nothing.
alter table sessions add column sign_in_method text;
