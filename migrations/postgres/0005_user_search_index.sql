-- The panel's search box finds a term anywhere in a user's userName, names and email (`search_folded`). A B-tree cannot
-- serve `like '%term%'`, so at 100,000 users each search read every row. A trigram GIN index serves any substring of
-- three or more characters. pg_trgm ships with PostgreSQL and is a trusted extension: the database owner may create it.
create extension if not exists pg_trgm;
create index app_user_search on app_user using gin (search_folded gin_trgm_ops);
