-- The command menu of each person's private chat with the bot (setMyCommands with a
-- BotCommandScopeChat; the default scopes are for people the bot does not know). A role
-- granted or revoked, a language chosen, a first contact marks the person's row due in the
-- same transaction; the bot's menu sync (bot/menus.py) sets the menu and records what it set.
CREATE TABLE menus (
    person_id  INTEGER PRIMARY KEY REFERENCES people(id),
    digest     TEXT,                        -- of the menu last set; NULL: none set yet
    set_at     TEXT,
    due_at     TEXT,                        -- set it (again) from then; NULL: up to date
    marks      INTEGER NOT NULL DEFAULT 0,  -- changes counted: one during a set is not lost
    tries      INTEGER NOT NULL DEFAULT 0   -- failed attempts since the last success
);
-- The sync's question: who is due now.
CREATE INDEX menus_due ON menus(due_at) WHERE due_at IS NOT NULL;
