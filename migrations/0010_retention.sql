-- Retention (issue "The account is the user's"): which replica runs a periodic job. A replica
-- takes the lease for `name` when it is free or its holder's time ran out (`until`), so the
-- hourly clean-up runs on one replica at a time however many serve.
create table job_leases (
    name text not null,
    holder text not null,
    until bigint not null,
    constraint job_leases_pkey primary key (name)
);
