-- A Heka-style nginx access log decoder written for the tests: the grammar comes
-- from the `weblog.clf` module (module_directory), as Heka's nginx_access.lua took
-- it from common_log_format.
local clf = require "weblog.clf"

local log_format = read_config("log_format")
local msg_type = read_config("type")
local grammar = clf.build_nginx_grammar(log_format)

local msg = {
    Timestamp = nil,
    Type = msg_type,
    Payload = nil,
    Fields = nil,
}

function process_message()
    local log = read_message("Payload")
    local fields = grammar:match(log)
    if not fields then return -1 end
    msg.Timestamp = fields.time
    fields.time = nil
    msg.Fields = fields
    inject_message(msg)
    return 0
end
