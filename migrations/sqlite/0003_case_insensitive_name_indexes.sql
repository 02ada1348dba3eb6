-- SCIM filters compare displayName, name.givenName and name.familyName without regard to case, as
-- `lower(column) = lower($1)` on both databases (server/src/store/filter.rs). These indexes on the same expressions
-- let such a filter find its rows without reading the table.
create index app_user_display_name_lower on app_user (lower(display_name));
create index app_user_given_name_lower on app_user (lower(given_name));
create index app_user_family_name_lower on app_user (lower(family_name));
