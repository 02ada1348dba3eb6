-- SCIM lists users in creation order (RFC 7644 §3.4.2.4 leaves the order to the service provider, and it must not
-- change between pages). Every listing but the panel's "Deleted in IdP" one reads live users only, and a page deep in
-- the list skips every live user before it. The index app_user_created holds deleted users too, so each skipped entry
-- cost a read of its row to test `deleted_at`. This index holds live users only and answers the order, the test and the
-- count from the index alone.
create index app_user_live_created on app_user (created_at, user_id) where deleted_at is null;

-- A group's members with their userName and state, and the check that member ids name live users, read this index
-- alone (an index-only scan): a 50,000-member group no longer reads 50,000 user rows.
create index app_user_member on app_user (user_id) include (deleted_at, active, user_name_folded, user_name);

-- Bumped in the same transaction as every write that adds a live user or tombstones or restores one: the store's
-- positions of the default listing (server/src/store/positions.rs) hold while it stays the same.
alter table setting add column user_version bigint not null default 0;
