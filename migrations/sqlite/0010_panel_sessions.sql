-- Panel sessions in a table of roster's own, written by the writer like everything else (before, the session layer
-- wrote its own table on the read pool: a second SQLite writer that group commit could starve for the busy timeout).
-- The key is a SHA-256 of the session id, so the table holds no cookie that would sign anyone in. Admins signed in
-- before the upgrade sign in again.
create table panel_session (
    session_hash text primary key,
    -- The session's data, as JSON.
    data         text not null,
    expires_at   integer not null
);
create index panel_session_expires_at on panel_session (expires_at);

drop table if exists tower_sessions;
