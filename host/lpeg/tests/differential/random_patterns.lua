-- Random LPeg patterns (sequences, choices, differences, repetitions, predicates,
-- captures, small grammars) matched against random subjects; one line per pattern.
-- Run by C LPeg to record tests/differential/c_lpeg_1.0.2.txt:
--   lua5.1 random_patterns.lua 23 1000 > c_lpeg_1.0.2.txt   (Debian lua5.1 + lua-lpeg 1.0.2)
-- and by heka-lpeg in tests/differential.rs, which must print the same.
local lpeg = require "lpeg"
local m = lpeg
local seed = tonumber(FUZZ_SEED or (arg and arg[1])) or 1
local CASES = tonumber(FUZZ_CASES or (arg and arg[2])) or 1000
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return math.floor(seed / 65536) % n end
local letters = {"a", "b", "c"}
local function str() local s = "" for i = 1, rnd(3) + 1 do s = s .. letters[rnd(3) + 1] end return s end
local gen
local function leaf()
  local k = rnd(8)
  if k == 0 then return m.P(str()), "P'" end
  if k == 1 then return m.S("ab"), "S" end
  if k == 2 then return m.P(1), "1" end
  if k == 3 then return m.R("ac"), "R" end
  if k == 4 then return m.P(true), "T" end
  if k == 5 then return m.C(m.P(str())), "C" end
  if k == 6 then return m.Cp(), "Cp" end
  return m.P(letters[rnd(3)+1]), "ch"
end
function gen(d)
  if d <= 0 then return leaf() end
  local k = rnd(14)
  local a, as = gen(d - 1)
  if k == 0 then local b, bs = gen(d - 1) return a * b, "(" .. as .. "*" .. bs .. ")" end
  if k == 1 then local b, bs = gen(d - 1) return a + b, "(" .. as .. "+" .. bs .. ")" end
  if k == 2 then local b, bs = gen(d - 1) return a - b, "(" .. as .. "-" .. bs .. ")" end
  if k == 3 then local ok, p = pcall(function() return a^0 end) if ok then return p, as .. "^0" end return a, as end
  if k == 4 then local ok, p = pcall(function() return a^1 end) if ok then return p, as .. "^1" end return a, as end
  if k == 5 then return a^-2, as .. "^-2" end
  if k == 6 then return -a, "-" .. as end
  if k == 7 then return #a, "#" .. as end
  if k == 8 then return m.C(a), "C(" .. as .. ")" end
  if k == 9 then return m.Ct(a), "Ct(" .. as .. ")" end
  if k == 10 then return m.Cs(a), "Cs(" .. as .. ")" end
  if k == 11 then return a / "<%0>", as .. "/s" end
  if k == 12 then local b, bs = gen(d - 1) return m.P{ "S", S = a * m.V"S" + b }, "G(" .. as .. "," .. bs .. ")" end
  return m.Cg(a), "Cg(" .. as .. ")"
end
local function ser(v)
  if type(v) == "table" then
    local out = {}
    for i = 1, #v do out[#out+1] = ser(v[i]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return tostring(v)
end
for case = 1, CASES do
  local ok, p, ps = pcall(gen, rnd(4) + 1)
  if ok then
    local out = {}
    for j = 1, 4 do
      local s = "" for i = 1, rnd(8) do s = s .. letters[rnd(3) + 1] end
      local r = { pcall(m.match, p, s) }
      if r[1] then
        local vals = {} for i = 2, 8 do if r[i] ~= nil or i == 2 then vals[#vals+1] = ser(r[i]) end end
        out[#out+1] = s .. "=" .. table.concat(vals, ",")
      else
        out[#out+1] = s .. "=ERR"
      end
    end
    print(case, ps, table.concat(out, " "))
  else
    print(case, "genfail")
  end
end
