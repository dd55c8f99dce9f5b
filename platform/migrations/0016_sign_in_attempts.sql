-- Sign-in attempts per client address (ratelimit.rs), counted in the database so that every
-- node behind a balancer counts the same attempts. One row per address: the minute its window
-- began and the attempts in it. The sweeper forgets windows that are over.
CREATE TABLE sign_in_attempts (
    address      TEXT PRIMARY KEY NOT NULL,  -- the client's IP address, as text
    window_start INTEGER NOT NULL,           -- ms; the window's first attempt
    attempts     INTEGER NOT NULL
);
