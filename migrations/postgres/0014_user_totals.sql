-- A full page of a listing needs its total (RFC 7644 §3.4.2 `totalResults`), and counting read every user: most of the
-- panel's first page at a million users. The two listings that have no condition beyond "live" keep their totals
-- here, moved in the same transaction as the user write, as `active_users` is (migration 0002): every user, which
-- the panel lists with the tombstones, and the live users SCIM lists. Users are never removed, only tombstoned.
-- From now on `user_version` (migration 0006) moves only when a user is tombstoned or restored: a new user comes last
-- in creation order and moves the live total alone (server/src/store/positions.rs).
alter table setting add column users_total bigint not null default 0;
alter table setting add column users_live bigint not null default 0;
update setting set users_total = (select count(*) from app_user),
    users_live = (select count(*) from app_user where deleted_at is null)
    where setting_id = 1;
