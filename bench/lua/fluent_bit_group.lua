-- Fluent Bit Lua filter for hekad-bench's scenario 12: groups 100 tailed lines into
-- one record whose `text` holds them, newline-terminated (the seed's aggregator's
-- shape). Records in between are dropped (-1); the 100th carries the group (1).
local lines = {}
local n = 0

function group(tag, timestamp, record)
    n = n + 1
    lines[n] = record["log"]
    if n < 100 then
        return -1, timestamp, record
    end
    local text = table.concat(lines, "\n", 1, n) .. "\n"
    lines = {}
    n = 0
    return 1, timestamp, { text = text }
end
