//! LPeg 1.0's reference manual, function by function: each test holds the manual's
//! statements (and its examples) as Lua assertions run against our `lpeg` module.

mod common;
use common::{error_of, run};

#[test]
fn match_type_version_and_init() {
    run(
        "basics",
        r#"
        local m = lpeg
        assert(m.match(m.P"a", "aaa") == 2)
        assert(m.match("ab", "abc") == 3)            -- match converts its pattern
        assert(m.match(m.P"ab", "abc", 2) == nil)
        assert(m.match(m.P"bc", "abc", 2) == 4)
        assert(m.match(m.P"c", "abc", -1) == 4)      -- negative init counts from the end
        assert(m.match(m.P"abc", "abc", -10) == 4)   -- clamped to the start
        assert(m.match(m.P(true), "abc", 10) == 4)   -- clamped to the end
        assert(m.type(m.P"a") == "pattern" and m.type("a") == nil and m.type({}) == nil)
        assert(type(m.version()) == "string")
        local p = m.P"x"
        assert(p:match("x") == 2)                    -- methods through the metatable
        m.setmaxstack(1000)
    "#,
    );
}

#[test]
fn p_of_every_value() {
    run(
        "P",
        r#"
        local m = lpeg
        assert(m.match(m.P(3), "abcd") == 4)
        assert(m.match(m.P(3), "ab") == nil)
        assert(m.match(m.P(0), "") == 1)
        assert(m.match(m.P(-3), "ab") == 1)          -- only if fewer than 3 remain
        assert(m.match(m.P(-3), "abc") == nil)
        assert(m.match(m.P(true), "x") == 1)
        assert(m.match(m.P(false), "x") == nil)
        local p = m.P(function (s, i) return i end)  -- Cmt over the empty string
        assert(m.match(p, "abc", 2) == 2)
        assert(m.match(m.P(function () return false end), "a") == nil)
        assert(m.match(m.P{ "a" * m.V(1) + "b" }, "aab") == 4)
    "#,
    );
}

#[test]
fn sets_ranges_and_locale() {
    run(
        "S R locale",
        r#"
        local m = lpeg
        assert(m.match(m.S"+-*/", "*") == 2)
        assert(m.match(m.S"", "a") == nil)
        assert(m.match(m.R("az", "AZ")^1, "abcXYZ1") == 7)
        assert(m.match(m.R(), "a") == nil)
        assert(m.match(m.R("09")^1, "2024-") == 5)
        local l = m.locale()
        assert(m.match(l.alpha^1, "abc1") == 4)
        assert(m.match(l.digit, "7") and m.match(l.space^1, " \t\n") == 4)
        assert(m.match(l.punct, ",") and not m.match(l.upper, "a"))
        local t = {}
        assert(m.locale(t) == t and m.type(t.xdigit) == "pattern")
        for _, k in ipairs{"alnum","alpha","cntrl","digit","graph","lower","print","punct","space","upper","xdigit"} do
            assert(m.type(l[k]) == "pattern", k)
        end
    "#,
    );
}

#[test]
fn operators() {
    run(
        "operators",
        r#"
        local m = lpeg
        local P, S = m.P, m.S
        assert(m.match(#P"a" * "ab", "ab") == 3)      -- and predicate consumes nothing
        assert(m.match(#P"b", "ab") == nil)
        assert(m.match(#m.C"a" * m.C(1), "ab") == "a")     -- #patt produces no captures
        assert(select('#', m.match(#m.C"a" * m.C(1), "ab")) == 1)
        assert(m.match(-P"a", "b") == 1)
        assert(m.match(-P"a", "a") == nil)
        assert(m.match(-P(1), "") == 1)               -- end of subject
        assert(m.match(P"a" * "b", "ab") == 3)
        assert(m.match(P"ab" + "a", "ac") == 2)
        assert(m.match(S"abc" - "b", "b") == nil)
        assert(m.match(P"a"^0, "") == 1)
        assert(m.match(P"a"^3, "aa") == nil)
        assert(m.match(P"a"^-2, "aaaa") == 3)
        assert(m.match("a" * P"b", "ab") == 3)         -- a string on the left
        assert(m.match(1 * P"b", "xb") == 3)            -- a number on the left
        assert(m.match(m.B"a" * "b", "ab", 2) == 3)
        assert(m.match(m.B"a", "b", 1) == nil)
        -- the manual's "anywhere"
        local function anywhere (p) return m.P{ p + 1 * m.V(1) } end
        assert(m.match(anywhere("world"), "hello world") == 12)
        -- the manual's patt - patt: "1 - p" and words
        local word = (1 - S" ,;")^1
        assert(m.match(word, "hello, world") == 6)
    "#,
    );
}

#[test]
fn simple_captures() {
    run(
        "captures",
        r#"
        local m = lpeg
        local a, b = m.match(m.C(m.P"a"^1) * m.C(m.P"b"^1), "aabbb")
        assert(a == "aa" and b == "bbb")
        local s, n = m.match(m.C(m.C(m.P"a") * "b"), "ab")
        assert(s == "ab" and n == "a")
        assert(m.match(m.Cp() * "ab" * m.Cp(), "ab") == 1)
        assert(select(2, m.match(m.Cp() * "ab" * m.Cp(), "ab")) == 3)
        local x, y, z = m.match(m.Cc(1, nil, "z"), "")
        assert(x == 1 and y == nil and z == "z")
        assert(m.match(m.Cc() * "a", "a") == 2)
        assert(m.match(m.Carg(2), "", 1, "one", "two") == "two")
        local v1, v2 = m.match(m.Cg(m.C"a" * m.C"b"), "ab")
        assert(v1 == "a" and v2 == "b")
        assert(m.match(m.Cg(m.P"abc"), "abc") == "abc")        -- no captures: whole match
        assert(m.match(m.Cg(m.C"a", "name"), "a") == 2)       -- named group: no values
    "#,
    );
}

#[test]
fn table_and_back_captures() {
    run(
        "Ct Cb",
        r#"
        local m = lpeg
        local t = m.match(m.Ct(m.C"a" * m.Cg(m.C"b", "k") * m.C"c"), "abc")
        assert(t[1] == "a" and t[2] == "c" and t.k == "b" and #t == 2)
        local t2 = m.match(m.Ct(m.Cc(1) * m.Cg(m.Cc(2, 3), 10)), "")
        assert(t2[1] == 1 and t2[10] == 2)
        -- back capture: the most recent group with that name
        local p = m.Cg(m.C(1), "x") * m.Cg(m.C(1), "x") * m.Cb"x"
        assert(m.match(p, "ab") == "b")
        local q = m.Cg(m.C(1) * m.C(1), "x") * m.Cb"x"
        local a, b = m.match(q, "ab")
        assert(a == "a" and b == "b")
        -- group names may be any value
        local key = {}
        assert(m.match(m.Cg(m.Cc"v", key) * m.Cb(key), "") == "v")
        -- the manual's long strings: [=[ ... ]=]
        local equals = m.P"="^0
        local open = "[" * m.Cg(equals, "init") * "[" * m.P"\n"^-1
        local close = "]" * m.C(equals) * "]"
        local closeeq = m.Cmt(close * m.Cb("init"), function (s, i, a, b) return a == b end)
        local string = open * m.C((m.P(1) - closeeq)^0) * close / 1
        assert(m.match(string, "[==[\nx]=]y]==]") == "x]=]y")
    "#,
    );
}

#[test]
fn function_string_number_and_query_captures() {
    run(
        "slash",
        r#"
        local m = lpeg
        assert(m.match(m.C(1) * m.C(1) / "%2%1", "ab") == "ba")
        assert(m.match(m.P"abc" / "<%0>", "abc") == "<abc>")
        assert(m.match(m.P"a" / "100%%", "a") == "100%")
        assert(m.match((m.C(1) * m.C(1)) / 2, "ab") == "b")
        assert(m.match((m.C(1) * m.C(1)) / 0, "ab") == 3)      -- no values: the position
        assert(m.match(m.C(1) / {a = "A"}, "a") == "A")
        assert(m.match(m.C(1) / {a = "A"}, "b") == 2)          -- no value when absent
        assert(m.match(m.P"x" / {x = 1}, "x") == 1)            -- whole match as the key
        local r = { m.match(m.C(1) * m.C(1) / function (a, b) return b, a, "!" end, "ab") }
        assert(r[1] == "b" and r[2] == "a" and r[3] == "!")
        assert(m.match(m.P"ab" / function (s) return #s end, "ab") == 2)
        assert(m.match(m.P"ab" / function () end, "ab") == 3)
    "#,
    );
}

#[test]
fn fold_subst_and_accumulate() {
    run(
        "Cf Cs %",
        r#"
        local m = lpeg
        local number = m.R"09"^1 / tonumber
        local list = number * ("," * number)^0
        local sum = m.Cf(list, function (a, b) return a + b end)
        assert(m.match(sum, "10,30,43") == 83)
        -- the manual's name = value list
        local space = m.S" \t"^0
        local name = m.C(m.R("az")^1) * space
        local pair = m.Cg(name * "=" * space * name) * m.S",;"^-1 * space
        local list2 = m.Cf(m.Ct("") * pair^0, rawset)
        local t = m.match(list2, "a=b, c = hi; next = pi")
        assert(t.a == "b" and t.c == "hi" and t.next == "pi")
        -- Cs: the manual's gsub
        local function gsub (s, patt, repl)
            patt = m.P(patt)
            patt = m.Cs((patt / repl + 1)^0)
            return m.match(patt, s)
        end
        assert(gsub("hello world", "o", "0") == "hell0 w0rld")
        assert(m.match(m.Cs((m.P"a" / "b" + 1)^0), "banana") == "bbnbnb")
        assert(m.match(m.Cs(m.C"x" / {} + 1), "x") == "x")     -- no value keeps the text
        local acc = (m.R"09"^1 / tonumber) * ("+" * (m.R"09"^1 / tonumber) % function (a, b) return a + b end)^0
        assert(m.match(acc, "1+2+3") == 6)
    "#,
    );
}

#[test]
fn match_time_captures() {
    run(
        "Cmt",
        r#"
        local m = lpeg
        local seen
        local p = m.Cmt(m.C"a" * m.C"b", function (s, i, a, b) seen = {s, i, a, b}; return true end)
        assert(m.match(p * "c", "abc") == 4)
        assert(seen[1] == "abc" and seen[2] == 3 and seen[3] == "a" and seen[4] == "b")
        assert(m.match(m.Cmt(m.P"a", function (s, i) return i + 1 end), "ab") == 3)
        assert(m.match(m.Cmt(m.P"a", function () return nil end), "a") == nil)
        local x, y = m.match(m.Cmt(m.P"ab", function (s, i, c) return true, c, 7 end), "ab")
        assert(x == "ab" and y == 7)
        -- called at match time, even on a branch that later fails
        local calls = 0
        local q = m.Cmt(m.P"a", function (s, i) calls = calls + 1; return true end) * "x" + "ab"
        assert(m.match(q, "ab") == 3 and calls == 1)
        -- a back capture inside a match-time capture reaches a group before it, and the
        -- function gets the subject itself
        local g = m.Cg(m.C"a" * m.C"b", "g")
        local v, n = m.match(g * m.Cmt(m.Cb"g", function (s, i, x, y) return i, x .. y .. "!", s end), "abc")
        assert(v == "ab!" and n == "abc", tostring(v))
        -- many match-time captures in one match, each seeing only its own nested values
        local many = m.Ct((m.Cmt(m.C(1), function (s, i, c) return i, c:upper() end))^0)
        local t = m.match(many, ("xy"):rep(500))
        assert(#t == 1000 and t[1] == "X" and t[1000] == "Y")
    "#,
    );
    assert!(
        error_of(r#"lpeg.match(lpeg.Cmt(lpeg.P"a", function () return 10 end), "a")"#)
            .contains("invalid position returned by match-time capture")
    );
}

#[test]
fn the_manuals_examples() {
    run(
        "examples",
        r#"
        local m = lpeg
        -- balanced parentheses
        local b = m.P{ "(" * ((1 - m.S"()") + m.V(1))^0 * ")" }
        assert(m.match(b, "(a(b)(c(d)))") == 13)
        -- CSV
        local field = '"' * m.Cs(((m.P(1) - '"') + m.P'""' / '"')^0) * '"' + m.C((1 - m.S',\n"')^0)
        local record = field * (',' * field)^0 * (m.P'\n' + -1)
        local function csv (s) return m.match(m.Ct(record), s) end
        local t = csv('a,"b ""c""",,d')
        assert(t[1] == "a" and t[2] == 'b "c"' and t[3] == "" and t[4] == "d")
        -- splitting a string
        local function split (s, sep)
            sep = m.P(sep)
            local elem = m.C((1 - sep)^0)
            local p = m.Ct(elem * (sep * elem)^0)
            return m.match(p, s)
        end
        local parts = split("a,b,,c", ",")
        assert(#parts == 4 and parts[3] == "" and parts[4] == "c")
        -- arithmetic expressions with a grammar and folding
        local Space = m.S" \n\t"^0
        local Number = m.C(m.P"-"^-1 * m.R"09"^1) * Space
        local TermOp = m.C(m.S"+-") * Space
        local FactorOp = m.C(m.S"*/") * Space
        local Open = "(" * Space
        local Close = ")" * Space
        local function eval (v1, op, v2)
            if op == "+" then return v1 + v2 elseif op == "-" then return v1 - v2
            elseif op == "*" then return v1 * v2 else return v1 / v2 end
        end
        local V = m.V
        local G = m.P{ "Exp",
            Exp = m.Cf(V"Term" * m.Cg(TermOp * V"Term")^0, eval);
            Term = m.Cf(V"Factor" * m.Cg(FactorOp * V"Factor")^0, eval);
            Factor = Number / tonumber + Open * V"Exp" * Close;
        }
        assert(m.match(Space * G * -1, "3 + 5*9 / (1+1) - 12") == 13.5)
        -- searching for a pattern, with its position
        local function find (s, p)
            local I = m.Cp()
            return m.match(m.P{ I * p * I + 1 * m.V(1) }, s)
        end
        local i, e = find("hello world", "wor")
        assert(i == 7 and e == 10)
    "#,
    );
}

#[test]
fn errors_have_lpegs_messages() {
    assert!(error_of("local _ = (lpeg.P'a'^0)^0").contains("loop body may accept empty string"));
    assert!(
        error_of("lpeg.P{ 'A', A = lpeg.V'A' * 'a' }").contains("rule 'A' may be left recursive")
    );
    assert!(
        error_of("lpeg.P{ 'A', A = lpeg.V'B' }").contains("rule 'B' undefined in given grammar")
    );
    assert!(
        error_of("lpeg.P{ 'A', A = (lpeg.P'a'^0)^1 }")
            .contains("loop body may accept empty string")
    );
    assert!(
        error_of("lpeg.P{ 'A', A = lpeg.V'B'^0, B = lpeg.P'x'^-1 }")
            .contains("empty loop in rule 'A'")
    );
    assert!(error_of("lpeg.P{ 'Z', A = lpeg.P'a' }").contains("'Z'"));
    assert!(error_of("lpeg.P{ 'A', A = 'a' }").contains("rule 'A' is not a pattern"));
    assert!(error_of("lpeg.match(lpeg.V'x', '')").contains("rule 'x' used outside a grammar"));
    assert!(error_of("lpeg.B(lpeg.P'a'^1)").contains("pattern may not have fixed length"));
    assert!(error_of("lpeg.B(lpeg.C'a')").contains("pattern have captures"));
    assert!(error_of("lpeg.R('abc')").contains("range must have two characters"));
    assert!(error_of("lpeg.P(nil)").contains("pattern expected"));
    assert!(error_of("local _ = lpeg.P'a' / nil").contains("2nd operand"));
    assert!(
        error_of("lpeg.match(lpeg.Carg(3), '', 1, 'x')")
            .contains("reference to absent extra argument #3")
    );
    assert!(error_of("lpeg.match(lpeg.Cb'nope', '')").contains("back reference 'nope' not found"));
    assert!(error_of("lpeg.match(lpeg.Cf(lpeg.P'a', print), 'a')").contains("no initial value"));
    assert!(error_of("lpeg.match(lpeg.P'a' / '%2', 'a')").contains("invalid capture index (2)"));
    assert!(error_of("lpeg.match(lpeg.C'a' / 3, 'a')").contains("no capture '3'"));
    assert!(
        error_of("lpeg.match(lpeg.Cs(lpeg.P'a' / function () return {} end), 'a')")
            .contains("invalid replacement value (a table)")
    );
    assert!(error_of("lpeg.Carg(0)").contains("invalid argument index"));
    assert!(error_of("lpeg.setmaxstack(0)").contains("setmaxstack"));
}

#[test]
fn backtrack_stack_and_capture_limits() {
    let msg = error_of(
        r#"
        local p = lpeg.P{ "(" * lpeg.V(1) * ")" + "" }
        lpeg.match(p, string.rep("(", 1000) .. string.rep(")", 1000))
    "#,
    );
    assert!(
        msg.contains("backtrack stack overflow (current limit is 400)"),
        "{msg}"
    );
    run(
        "setmaxstack",
        r#"
        lpeg.setmaxstack(5000)
        local p = lpeg.P{ "(" * lpeg.V(1) * ")" + "" }
        assert(lpeg.match(p, string.rep("(", 1000) .. string.rep(")", 1000)) == 2001)
    "#,
    );
    let msg = error_of(r#"lpeg.match(lpeg.C(1)^0, string.rep("x", 2000000))"#);
    assert!(msg.contains("too many captures"), "{msg}");
    let msg = error_of(r#"local p = lpeg.P"a" for i = 1, 1000 do p = -p end"#);
    assert!(msg.contains("pattern too complex"), "{msg}");
    let msg = error_of(r#"local p = lpeg.P"a"^1e9"#);
    assert!(msg.contains("pattern too complex"), "{msg}");
}

#[test]
fn grammar_analysis_does_not_explode() {
    // Each rule calls the next twice: re-walking called rules (as C LPeg does) takes
    // 2^400 steps; the per-rule facts make it linear.
    run(
        "doubling chain",
        r#"
        local t = { "R1" }
        for i = 1, 400 do
            t["R" .. i] = lpeg.V("R" .. (i + 1)) * "a" + lpeg.V("R" .. (i + 1)) * "b"
        end
        t.R401 = lpeg.P"c"
        local g = lpeg.P(t)
        lpeg.setmaxstack(2000)
        assert(lpeg.match(g, "c" .. string.rep("a", 400)) == 402)
        assert(lpeg.match(g * -1, "c" .. string.rep("a", 399) .. "b") == 402)
    "#,
    );
}
