require "os"
require "string"

local buffer = ""

function process_message()
    local payload = read_message("Payload")
    buffer = buffer .. payload
    return 0
end

function timer_event(ns)
    if string.len(buffer) > 0 then
        inject_payload("txt", "", buffer)
        buffer = ""
    end
end
