-- Sessions signed in before this moment are over: changing a password sets it, ending the admin's other sessions.
alter table admin add column sessions_valid_from bigint not null default 0;

-- Sign-in attempts per account and per client address, counted before the password is checked, so the throttle
-- holds for parallel guesses and across every instance that shares the database.
create table sign_in_attempt (
    attempt_key  text primary key,
    window_start bigint not null,
    attempts     bigint not null
);
