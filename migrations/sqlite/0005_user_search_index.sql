-- The panel's search box finds a term anywhere in a user's userName, names and email (`search_folded`). A B-tree cannot
-- serve `like '%term%'`, so at 100,000 users each search read every row. An FTS5 trigram index serves any substring of
-- three or more characters; the triggers keep it in step with app_user in the same transaction as every write.
create virtual table user_search using fts5(search_folded, content = 'app_user', content_rowid = 'rowid', tokenize = 'trigram');
create trigger app_user_search_insert after insert on app_user begin
    insert into user_search (rowid, search_folded) values (new.rowid, new.search_folded);
end;
create trigger app_user_search_delete after delete on app_user begin
    insert into user_search (user_search, rowid, search_folded) values ('delete', old.rowid, old.search_folded);
end;
create trigger app_user_search_update after update of search_folded on app_user
    when old.search_folded is not new.search_folded begin
    insert into user_search (user_search, rowid, search_folded) values ('delete', old.rowid, old.search_folded);
    insert into user_search (rowid, search_folded) values (new.rowid, new.search_folded);
end;
insert into user_search (user_search) values ('rebuild');
