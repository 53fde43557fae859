-- A Heka-style graph filter written for the tests: HTTP status classes counted
-- per row of a circular buffer, reported as Heka's `cbuf` text on every tick.
-- Its buffer is kept across restarts by preserve_data; the status → column rule
-- comes from a module in the default module_directory (<share_dir>/lua_modules).
require "circular_buffer"
local column_of = require "http_class"

local rows = read_config("rows") or 1440
local sec_per_row = read_config("sec_per_row") or 60

status = circular_buffer.new(rows, 5, sec_per_row)
status:set_header(1, "HTTP_200", "count")
status:set_header(2, "HTTP_300", "count")
status:set_header(3, "HTTP_400", "count")
status:set_header(4, "HTTP_500", "count")
status:set_header(5, "HTTP_UNKNOWN", "count")

function process_message()
    local ts = read_message("Timestamp")
    local code = read_message("Fields[status]")
    if type(code) ~= "number" then return -1, "no status" end
    status:add(ts, column_of(code), 1)
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", "HTTP Status", status)
end
