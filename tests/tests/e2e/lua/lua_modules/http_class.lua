-- http_class: the graph column of an HTTP status code: 1 for 2xx, 2 for 3xx,
-- 3 for 4xx, 4 for 5xx, 5 for anything else. (A module written for the tests.)
local floor = math.floor

return function(code)
    local c = floor(code / 100) - 1
    if c >= 1 and c <= 4 then return c end
    return 5
end
