-- log_aggregator_table.lua: the seed's log_aggregator.lua with a table as its buffer.
--
-- Why this exists: the seed's script (log_aggregator.lua, kept verbatim) builds its
-- buffer with `buffer = buffer .. payload`. Every message then copies everything
-- gathered since the last timer_event, so the work per ticker interval is quadratic
-- in the number of lines, and the garbage strings run into Heka's 8 MiB memory_limit
-- at high rates. This variant appends each payload to a table and joins them once,
-- with table.concat, in timer_event: linear work, and the output is the same.
-- heka-sandbox's `aggregator` bench and the daemon benchmark (bench/) measure both.
require "os"
require "string"
require "table"

local buffer = {}
local n = 0

function process_message()
    n = n + 1
    buffer[n] = read_message("Payload")
    return 0
end

function timer_event(ns)
    if n > 0 then
        local joined = table.concat(buffer, "", 1, n)
        buffer = {}
        n = 0
        if string.len(joined) > 0 then
            inject_payload("txt", "", joined)
        end
    end
end
