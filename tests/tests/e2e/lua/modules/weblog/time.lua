-- weblog.time: LPeg grammar for an access log's local time,
-- "10/Oct/2023:13:55:36 +0200", captured as nanoseconds since the epoch (UTC).
-- A module written for the tests (loaded from module_directory as weblog/time.lua).
local l = require "lpeg"
local os = require "os"
local tonumber = tonumber

local M = {}
setfenv(1, M)

local months = {Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12}

local digit = l.R"09"
-- Exactly n digits, as a number (digit^n would be n or more).
local function num(n)
    local p = digit
    for _ = 2, n do p = p * digit end
    return p / tonumber
end
local month = l.C(l.R"AZ" * l.R"az" * l.R"az") / months
local sign = l.C(l.S"+-")

local function to_ns(day, mon, year, hour, min, sec, sgn, oh, om)
    local t = os.time{year = year, month = mon, day = day, hour = hour, min = min, sec = sec}
    local offset = (oh * 3600 + om * 60) * (sgn == "-" and -1 or 1)
    return (t - offset) * 1e9
end

-- day/Mon/year:hh:mm:ss +hhmm
time_local = (num(2) * "/" * month * "/" * num(4) * ":" * num(2) * ":" * num(2)
              * ":" * num(2) * " " * sign * num(2) * num(2)) / to_ns

return M
