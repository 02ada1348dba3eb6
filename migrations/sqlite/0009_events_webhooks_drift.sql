-- Telling the rest of the product (issue: directory API, events, webhooks), and what the panel draws.
--
-- directory_event is the outbox: every change writes its events in the same transaction as the change, so a crash
-- loses none. `seq` is the commit order: every write transaction holds the write lock (SQLite's, or PostgreSQL's
-- settings row) while it takes its numbers and until it commits, so a reader that has seen seq N never later finds a
-- smaller one committed. `event_id` is the Standard Webhooks message id, the same on every delivery and in the feed.

create table directory_event (
    seq        integer primary key autoincrement,
    event_id   text not null unique,
    event_type text not null,
    at         integer not null,
    -- The event's JSON `data`.
    data       text not null
);
create index directory_event_at on directory_event (at);
-- The highest seq pruned by retention: a feed cursor below it has missed events (410, README "Events").
alter table setting add column events_pruned_through integer not null default 0;

-- Directory API tokens live beside SCIM tokens, told apart by kind; neither works where the other does.
alter table scim_token add column kind text not null default 'scim';
drop index scim_token_live_name;
create unique index scim_token_live_name on scim_token (kind, name_folded) where revoked_at is null;

-- Webhook endpoints. Delivery is in order per endpoint: `delivered_through` is the last event handled, and the
-- endpoint's next event waits until it is delivered or given up on. An instance sends only while it holds the lease
-- (`lease_until`, taken with a conditional update), so with several instances each attempt is made by one.
create table webhook_endpoint (
    endpoint_id           text primary key,
    url                   text not null,
    -- JSON array of type patterns: "user.deactivated", "user.*", "*".
    event_types           text not null,
    -- The signing secret, `whsec_<base64>`. Kept in clear: signing needs it (SECURITY.md).
    secret                text not null,
    -- After a rotation, the old secret also signs until `previous_secret_until`.
    previous_secret       text,
    previous_secret_until integer,
    created_at            integer not null,
    delivered_through     integer not null,
    -- Failed attempts at the event after `delivered_through`.
    attempt               integer not null default 0,
    failing_since         integer,
    next_attempt_at       integer not null default 0,
    lease_until           integer not null default 0,
    lease_owner           text,
    last_error            text
);
create table webhook_delivery (
    delivery_id integer primary key autoincrement,
    endpoint_id text not null references webhook_endpoint (endpoint_id) on delete cascade,
    event_seq   integer not null,
    event_id    text not null,
    event_type  text not null,
    attempt     integer not null,
    at          integer not null,
    -- Which instance made the attempt.
    instance    text not null,
    status      integer,
    -- 'delivered', 'failed', 'gave_up' or 'resent'.
    outcome     text not null,
    error       text not null,
    duration_ms integer not null
);
create index webhook_delivery_endpoint on webhook_delivery (endpoint_id, delivery_id);

-- Changes admins made to IdP-managed groups' membership while SCIM was off, net of each other, until the IdP's next
-- push overwrites or agrees with them (the brief: "re-enable, then Push now overwrites").
create table group_drift (
    group_id text not null references app_group (group_id) on delete cascade,
    user_id  text not null references app_user (user_id) on delete cascade,
    -- true: the admin added the user; false: removed them.
    added    boolean not null,
    by_admin text not null,
    at       integer not null,
    primary key (group_id, user_id)
);

-- The dashboard's charts, kept up at each commit so drawing them reads 30 and 168 rows, not a year of log.
create table seat_day (
    -- Days since the Unix epoch (UTC).
    day        integer primary key,
    used       integer not null,
    peak       integer not null,
    seat_limit integer not null
);
create table activity_hour (
    -- Hours since the Unix epoch (UTC).
    hour     integer primary key,
    writes   integer not null,
    no_seats integer not null,
    failed   integer not null
);
insert into activity_hour (hour, writes, no_seats, failed)
select at / 3600000,
       sum(case when outcome = 'ok' then 1 else 0 end),
       sum(case when outcome = 'no_seats' then 1 else 0 end),
       sum(case when outcome = 'failed' then 1 else 0 end)
from provisioning_event
group by at / 3600000;
