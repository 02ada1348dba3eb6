-- One word for each thing: the provisioning log's rows are log entries ("event" now means only a directory event, the
-- outbox's `directory_event`). The table is renamed; its indexes keep their names.
alter table provisioning_event rename to log_entry;
