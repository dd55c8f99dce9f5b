-- The language a Message Center account reads its pages in ('en', 'de'), once the reader
-- chose one with the switch; none: the browser's language.
ALTER TABLE recipient_accounts ADD COLUMN language TEXT;
