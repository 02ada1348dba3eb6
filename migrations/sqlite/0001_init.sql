-- roster's schema, SQLite dialect. migrations/postgres/0001_init.sql is the same schema for PostgreSQL; a test checks
-- both folders hold the same versions. Times are integer milliseconds since the Unix epoch (UTC), set by the
-- application. Case-insensitive uniqueness uses `*_folded` shadow columns filled by the application (Rust's
-- to_lowercase), so SQLite and PostgreSQL agree exactly.

-- One row of instance-wide settings. Write transactions on PostgreSQL lock it to serialise seat checks.
create table setting (
    setting_id       integer primary key check (setting_id = 1),
    scim_enabled     boolean not null default false,
    seat_limit       integer not null,
    -- SHA-256 of the one-time first-run setup token; null once an admin exists.
    setup_token_hash text
);
insert into setting (setting_id, scim_enabled, seat_limit) values (1, false, 50);

create table admin (
    admin_id      integer primary key autoincrement,
    email         text not null,
    email_folded  text not null unique,
    -- argon2id PHC string.
    password_hash text not null,
    created_at    integer not null,
    updated_at    integer not null
);

create table scim_token (
    token_id     integer primary key autoincrement,
    name         text not null,
    name_folded  text not null,
    -- SHA-256 of the bearer token; the token itself is shown once and never stored.
    token_hash   text not null unique,
    created_at   integer not null,
    last_used_at integer,
    revoked_at   integer
);
-- A name is unique among live tokens; a revoked token's name may be reused.
create unique index scim_token_live_name on scim_token (name_folded) where revoked_at is null;

-- `user` is reserved in PostgreSQL, hence the prefix.
create table app_user (
    user_id          text primary key,
    user_name        text not null,
    user_name_folded text not null,
    external_id      text,
    display_name     text,
    given_name       text,
    family_name      text,
    email            text,
    -- userName, names and email, folded, for the panel's search box.
    search_folded    text not null,
    active           boolean not null,
    -- JSON: why an inactive user is inactive (model::InactiveReason).
    inactive_reason  text,
    -- 'local', or the IdP's label for IdP-managed users.
    managed_by       text not null,
    managed_by_idp   boolean not null,
    -- Set when the IdP deleted the user: a tombstone that keeps memberships and history.
    deleted_at       integer,
    -- The SCIM User document as sent (without id, meta, groups and password).
    attributes       text not null,
    version          integer not null,
    created_at       integer not null,
    updated_at       integer not null
);
create unique index app_user_user_name on app_user (user_name_folded);
create index app_user_external_id on app_user (external_id);
create index app_user_created on app_user (created_at, user_id);
create index app_user_updated on app_user (updated_at, user_id);
create index app_user_display_name on app_user (display_name, user_id);
create index app_user_family_name on app_user (family_name, user_id);
create index app_user_active on app_user (active, deleted_at);

-- Every email of every user, so `emails[type eq "work"].value eq "…"` is an index lookup.
create table user_email (
    user_id      text not null references app_user (user_id) on delete cascade,
    position     integer not null,
    value        text not null,
    value_folded text not null,
    type         text,
    is_primary   boolean not null,
    primary key (user_id, position)
);
create index user_email_value on user_email (value_folded);

create table app_group (
    group_id            text primary key,
    display_name        text not null,
    display_name_folded text not null unique,
    external_id         text,
    managed_by          text not null,
    managed_by_idp      boolean not null,
    -- JSON object: attributes of extensions roster does not know, echoed back.
    extra               text not null,
    member_count        integer not null,
    version             integer not null,
    created_at          integer not null,
    updated_at          integer not null
);
create index app_group_external_id on app_group (external_id);
create index app_group_created on app_group (created_at, group_id);

create table group_member (
    group_id text not null references app_group (group_id) on delete cascade,
    user_id  text not null references app_user (user_id) on delete cascade,
    added_at integer not null,
    primary key (group_id, user_id)
);
create index group_member_user on group_member (user_id);

-- The provisioning log: every write, from SCIM, the panel or the CLI, and every failed SCIM request.
create table provisioning_event (
    event_id    integer primary key autoincrement,
    at          integer not null,
    actor       text not null,
    method      text not null,
    path        text not null,
    status      integer not null,
    -- 'ok', 'no_seats' or 'failed'.
    outcome     text not null,
    target_kind text,
    target_id   text,
    target_name text,
    diff        text not null,
    detail      text not null
);
create index provisioning_event_at on provisioning_event (at);
create index provisioning_event_target on provisioning_event (target_id, at);
create index provisioning_event_outcome on provisioning_event (outcome, at);
