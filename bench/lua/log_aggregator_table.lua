-- The seed's log_aggregator.lua, buffering in a table instead of a string.
--
-- Why it exists: the seed's script appends with `buffer = buffer .. payload`, which
-- copies the whole buffer on every line (quadratic) and, at high rates, runs into
-- Heka's 8 MiB memory_limit before the timer fires. This version keeps the lines in a
-- table and joins them once with table.concat when it flushes: on the timer, and
-- every `max_lines` lines when `[x.config] max_lines` is set (the benchmark uses 100,
-- as the wasm and native aggregators do). Its output is the seed script's.
require "string"
require "table"

local lines = {}
local n = 0
local max_lines = read_config("max_lines") or 0

local function flush()
    if n > 0 then
        -- The table is reused: entries past n are stale and concat ignores them.
        inject_payload("txt", "", table.concat(lines, "", 1, n))
        n = 0
    end
end

function process_message()
    n = n + 1
    lines[n] = read_message("Payload")
    if max_lines > 0 and n >= max_lines then
        flush()
    end
    return 0
end

function timer_event(ns)
    flush()
end
