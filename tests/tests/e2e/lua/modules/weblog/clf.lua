-- weblog.clf: builds an LPeg grammar from an nginx `log_format` string, in the
-- manner of Heka's common_log_format module (written for the tests, not Heka's):
-- literal text must match as written; each $variable becomes a field.
--   $remote_addr      {value = "1.2.3.4", representation = "ipv4"}
--   $time_local       time (ns since the epoch; the decoder makes it Timestamp)
--   $status           number
--   $body_bytes_sent  {value = n, representation = "B"}
--   $request          request_method, request_uri, request_protocol
--   anything else     string up to the next literal character ("-" is dropped)
local l = require "lpeg"
local time = require "weblog.time"
local tonumber = tonumber
local ipairs = ipairs

local M = {}
setfenv(1, M)

local digit = l.R"09"
local octet = digit * digit^-2
local ipv4 = l.Ct(l.Cg(l.C(octet * ("." * octet)^3), "value") * l.Cg(l.Cc"ipv4", "representation"))
local number = (digit^1 * ("." * digit^1)^-1) / tonumber

local function field(name, pattern)
    return l.Cg(pattern, name)
end

-- A string field up to the next literal character; a lone "-" (nginx's "no
-- value") leaves the field out.
local function text_until(name, stop)
    local body = (1 - l.P(stop))^0
    return (l.P"-" * #l.P(stop)) + l.Cg(l.C(body), name)
end

local special = {
    remote_addr = function() return field("remote_addr", ipv4) end,
    time_local = function() return field("time", time.time_local) end,
    status = function() return field("status", number) end,
    body_bytes_sent = function()
        return field("body_bytes_sent",
            l.Ct(l.Cg(number, "value") * l.Cg(l.Cc"B", "representation")))
    end,
    request = function()
        local word = l.C((1 - l.S' "')^1)
        return field("request_method", word) * " " * field("request_uri", word)
            * " " * field("request_protocol", word)
    end,
}

-- A grammar for `log_format`, capturing a table of fields.
function build_nginx_grammar(log_format)
    local name = (l.R("az", "AZ", "09") + "_")^1
    local pieces = l.Ct((l.P"$" * l.C(name) / function(v) return {var = v} end
                         + l.C((1 - l.P"$")^1) / function(s) return {lit = s} end)^0)
    local list = pieces:match(log_format)
    local pattern = l.P(true)
    for i, p in ipairs(list) do
        if p.lit then
            pattern = pattern * l.P(p.lit)
        elseif special[p.var] then
            pattern = pattern * special[p.var]()
        else
            local nxt = list[i + 1]
            if nxt and nxt.lit then
                pattern = pattern * text_until(p.var, nxt.lit:sub(1, 1))
            else
                pattern = pattern * l.Cg(l.C(l.P(1)^0), p.var)
            end
        end
    end
    -- A line as the splitter hands it keeps its newline.
    return l.Ct(pattern) * l.P"\n"^-1 * -1
end

return M
