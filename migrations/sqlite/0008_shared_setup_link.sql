-- The setup link is the same on every instance and every start until the first admin exists: several instances
-- starting on an empty database used to invalidate each other's links. So the token itself is kept, not a hash of
-- it, with when it was issued: it works for 24 hours, after which the next start issues a new one. It can only
-- create the first admin, and only while there is none; creating any admin clears it.
alter table setting add column setup_token text;
alter table setting add column setup_token_issued_at bigint;
alter table setting drop column setup_token_hash;
