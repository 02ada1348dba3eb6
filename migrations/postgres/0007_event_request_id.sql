-- The id of the HTTP request behind a log entry (its X-Request-Id), so an admin can find the request's lines in the
-- server log. Empty for entries written before this column, and for the CLI.
alter table provisioning_event add column request_id text;
