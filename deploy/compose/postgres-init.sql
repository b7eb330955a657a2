-- Runs once, when the PostgreSQL volume is first initialised: match-service uses the `jetbox`
-- database (POSTGRES_DB), notifier has a database of its own.
CREATE DATABASE jetbox_notifier;
