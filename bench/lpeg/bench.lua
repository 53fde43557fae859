-- LPeg benchmark: the same grammars over the same generated nginx access lines, run
-- by C LPeg (lua5.1 + lua-lpeg: `lua5.1 bench/lpeg/bench.lua [N]`) and by heka-lpeg
-- (`cargo bench -p heka-lpeg --bench lpeg_vs_c`, which runs this file in mlua's Lua 5.1).
-- Prints one line per case: `<case> <ns per line> <checksum>`; the checksums must agree.
local lpeg = require "lpeg"
local re = require "re"
local N = tonumber(BENCH_LINES or (arg and arg[1])) or 100000

-- Deterministic nginx "combined" lines (a 31-bit LCG, identical in every Lua 5.1).
local seed = 12345
local function rnd(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return math.floor(seed / 65536) % n
end
local paths = { "/", "/index.html", "/api/v1/users/42", "/static/app.min.js",
    "/images/logo.png", "/login?next=%2Fhome", "/search?q=heka+lpeg&page=2" }
local agents = { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/7.88.1", "Googlebot/2.1 (+http://www.google.com/bot.html)", "-" }
local methods = { "GET", "GET", "GET", "POST", "HEAD", "PUT" }
local statuses = { 200, 200, 200, 200, 304, 404, 500, 301 }
local months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local lines = {}
for i = 1, N do
    lines[i] = string.format('%d.%d.%d.%d - %s [%02d/%s/2026:%02d:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d "%s" "%s"',
        rnd(223) + 1, rnd(256), rnd(256), rnd(255) + 1,
        rnd(4) == 0 and "frank" or "-",
        rnd(28) + 1, months[rnd(12) + 1], rnd(24), rnd(60), rnd(60),
        methods[rnd(#methods) + 1], paths[rnd(#paths) + 1], statuses[rnd(#statuses) + 1], rnd(100000),
        rnd(3) == 0 and "https://example.com/" or "-", agents[rnd(#agents) + 1])
end

-- 1. A common_log_format-style grammar: every field into a table, numbers converted,
--    the time split into its parts (Heka's nginx access decoder's shape).
local l = lpeg
local sp = l.P" "
local digit = l.R"09"
local function num(name) return l.Cg(digit^1 / tonumber, name) end
local month_num = {}
for i, m in ipairs(months) do month_num[m] = i end
local ip = l.Cg((digit^1 * "." * digit^1 * "." * digit^1 * "." * digit^1), "remote_addr")
local user = l.Cg((1 - sp)^1, "remote_user")
local time = "[" * l.Cg(l.Ct(l.Cg(digit^2 / tonumber, "day") * "/" * l.Cg(l.C(l.R"AZ" * l.R"az"^2) / month_num, "month")
    * "/" * l.Cg(digit^4 / tonumber, "year") * ":" * l.Cg(digit^2 / tonumber, "hour") * ":"
    * l.Cg(digit^2 / tonumber, "min") * ":" * l.Cg(digit^2 / tonumber, "sec") * sp
    * l.Cg(l.S"+-" * digit^4, "offset")), "time") * "]"
local quoted = (1 - l.P'"')^0
local request = '"' * l.Cg(l.R"AZ"^1, "method") * sp * l.Cg((1 - sp)^1, "url") * sp
    * "HTTP/" * l.Cg(digit * "." * digit, "http_version") * '"'
local clf = l.Ct(ip * " - " * user * sp * time * sp * request * sp * num"status" * sp
    * num"body_bytes_sent" * sp * '"' * l.Cg(quoted, "http_referer") * '"' * sp
    * '"' * l.Cg(quoted, "http_user_agent") * '"' * -1)

-- 2. The same grammar, its captures dropped (`/ 0`): the matching machine alone.
-- 3. A re.find for the status code, 4. splitting on spaces into a table.
local status_re = [['" ' {[0-9]^3} ' ']]
local split = l.Ct(l.C((1 - sp)^0) * (sp * l.C((1 - sp)^0))^0)

local function run(name, f)
    collectgarbage()
    local t0 = os.clock()
    local sum = f()
    local dt = os.clock() - t0
    print(string.format("%s %.1f %d", name, dt * 1e9 / N, sum))
end

run("clf", function ()
    local sum = 0
    for i = 1, N do
        local t = clf:match(lines[i])
        sum = sum + t.status + t.time.month + #t.url
    end
    return sum
end)
local clf_match = clf / 0   -- the same match, captures recorded but not evaluated
run("clf/0", function ()
    local sum = 0
    for i = 1, N do sum = sum + clf_match:match(lines[i]) end
    return sum
end)
run("re.find", function ()
    local sum = 0
    for i = 1, N do
        local s, e = re.find(lines[i], status_re)
        sum = sum + s + e
    end
    return sum
end)
run("split", function ()
    local sum = 0
    for i = 1, N do sum = sum + #split:match(lines[i]) end
    return sum
end)
