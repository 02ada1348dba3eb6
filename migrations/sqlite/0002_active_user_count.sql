-- Seats are checked on every activation. Counting active users read every active row (3 ms at 100,000 users, more on
-- PostgreSQL); the store now keeps the count on the settings row, which every write transaction already holds, and
-- adjusts it in the same transaction as the user write.
alter table setting add column active_users integer not null default 0;
update setting set active_users = (select count(*) from app_user where active and deleted_at is null) where setting_id = 1;
