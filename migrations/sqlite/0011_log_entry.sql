-- One word for each thing: the provisioning log's rows are log entries ("event" now means only a directory event, the
-- outbox's `directory_event`). The table and its key are renamed; its indexes keep their names.
alter table provisioning_event rename to log_entry;
alter table log_entry rename column event_id to entry_id;
