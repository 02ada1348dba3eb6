-- The setup link is the same on every instance and every start until the first admin exists: several instances
-- starting on an empty database used to invalidate each other's links. So the token itself is kept, not a hash of
-- it. It can only create the first admin, and only while there is none; creating any admin clears it.
alter table setting add column setup_token text;
alter table setting drop column setup_token_hash;
