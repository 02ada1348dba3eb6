-- SCIM filters compare displayName, name.givenName and name.familyName without regard to case, as
-- `lower(column) = lower($1)` on both databases (server/src/store/filter.rs). These indexes on the same expressions
-- let such a filter find its rows without reading the table. Hash indexes serve the `eq` that IdPs send and have no
-- B-tree entry size limit, so rows written before givenName had a length cap cannot fail this migration.
create index app_user_display_name_lower on app_user using hash (lower(display_name));
create index app_user_given_name_lower on app_user using hash (lower(given_name));
create index app_user_family_name_lower on app_user using hash (lower(family_name));
