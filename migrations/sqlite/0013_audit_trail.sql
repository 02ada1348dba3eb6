-- The audit trail. Each log entry records where its request came from, and carries a hash over its content and the
-- previous entry's hash: a chain in entry order (entries are numbered in commit order, under the write lock), which
-- `roster log verify` walks. The hash is written by roster when the entry is written; entries from before this
-- migration are hashed when roster next starts.
alter table log_entry add column client_addr text;
alter table log_entry add column user_agent text;
alter table log_entry add column hash text;

-- The chain's ends, one row: the newest entry (`head_*`), which the next entry chains to, and where pruning by
-- retention cut the chain (`cut_*`: the last entry removed), which the oldest kept entry chains to. `sealed_through` is
-- the newest entry with its hash written. From `numbered_from` on, roster numbers entries one after another, so a
-- missing number is a removed entry; the database numbered older ones and may have skipped some.
create table log_chain (
    chain_id       integer primary key check (chain_id = 1),
    head_id        bigint not null,
    head_hash      text not null,
    sealed_through bigint not null,
    cut_id         bigint not null,
    cut_hash       text not null,
    numbered_from  bigint not null
);
insert into log_chain (chain_id, head_id, head_hash, sealed_through, cut_id, cut_hash, numbered_from)
select 1, coalesce(max(entry_id), 0), '', coalesce(min(entry_id), 1) - 1, coalesce(min(entry_id), 1) - 1, '',
       coalesce(max(entry_id), 0) + 1
from log_entry;

-- What an API token may read: 'directory' (users, groups, events) or 'audit' (the audit trail). SCIM tokens keep
-- 'directory', which they never use.
alter table scim_token add column scope text not null default 'directory';
