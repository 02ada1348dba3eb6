-- The panel's search box finds a term anywhere in a user's userName, names and email (`search_folded`). A B-tree cannot
-- serve `like '%term%'`, so at 100,000 users each search read every row. An FTS5 trigram index serves any substring of
-- three or more characters. Its rowid is the user's rowid.
--
-- The store writes it, not triggers: at commit, one statement re-indexes every user the transaction changed
-- (server/src/store/tx.rs). A trigger wrote it statement by statement inside each write's savepoint, which made a
-- create about twice as slow. `contentless_delete` lets the store drop a row by rowid without its old text.
create virtual table user_search using fts5(search_folded, content = '', contentless_delete = 1, tokenize = 'trigram');
insert into user_search (rowid, search_folded) select rowid, search_folded from app_user;
