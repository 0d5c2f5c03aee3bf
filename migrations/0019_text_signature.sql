-- A transaction's text signature (`db::finance::text_signature`): a bit for each trigram of its
-- description and merchant, so that a list's text filter skips in an index the rows that cannot
-- hold the text. -1 (every bit) keeps the rows found here in every list's checks until the
-- maintenance task `0023_text_signatures` computes theirs and adds the column to the list
-- indexes.
alter table transactions add column text_sig bigint not null default -1;
