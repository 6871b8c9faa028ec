-- The text a search looks in, folded as directory.Fold folds it (lower
-- case, no diacritics, ł and đ as l and d, single spaces): users' name,
-- email and extension, contacts' name and company, one field a line.
-- Every write of a row sets it; NULL means "not filled yet", and the store
-- fills such rows when it opens (the folding is Go code, not SQL), which is
-- how the rows of a database older than this migration get theirs. A
-- change to the folding sets the column back to NULL in a new migration.
-- Lists are ordered by it (the folded name first), the same on every
-- database: byte order, whatever the database's collation.

-- +goose Up
ALTER TABLE users ADD COLUMN search text COLLATE "C";
CREATE INDEX users_search ON users (search, id);
ALTER TABLE contacts ADD COLUMN search text COLLATE "C";
CREATE INDEX contacts_search ON contacts (search, id);

-- +goose Down
DROP INDEX contacts_search;
DROP INDEX users_search;
ALTER TABLE contacts DROP COLUMN search;
ALTER TABLE users DROP COLUMN search;
