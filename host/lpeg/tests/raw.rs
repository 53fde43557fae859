//! Capture evaluation on the raw Lua stack (`captures::raw`): the same values as the
//! `Value` path (forced here by appending an accumulator capture, which the raw path
//! does not handle; small lists are padded with constants so that the raw path takes
//! them), errors that leave the state usable, the memory limit, stack space for many
//! values and deep nesting.

mod common;

use common::{error_of, run, state};

/// Lua helpers: `same(p, s, ...)` checks that `p` and `p` forced through the `Value`
/// path yield the same values (compared with `deq`, tables deeply).
const SAME: &str = r##"
local function deq(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then return a == b end
    for k, v in pairs(a) do if not deq(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
end
local function pack(...) return { n = select("#", ...), ... } end
function same(p, s, ...)
    -- Four constants make the list worth the raw path even for a small `p`.
    p = p * lpeg.Cc(1, 2, 3, 4)
    local raw = pack(lpeg.match(p, s, ...))
    local val = pack(lpeg.match(p * lpeg.Cc"" * (lpeg.P(true) % function (a) return a end), s, ...))
    assert(val.n == raw.n + 1 and val[val.n] == "", "value path shape")
    assert(raw[raw.n] == 4, "constants last")
    raw.n = raw.n - 4
    for i = 1, raw.n do
        assert(deq(raw[i], val[i]), "value " .. i .. ": " .. tostring(raw[i]) .. " ~= " .. tostring(val[i]))
    end
    return unpack(raw, 1, raw.n)
end
"##;

fn check(name: &str, body: &str) {
    run(name, &format!("{SAME}\n{body}"));
}

#[test]
fn values_agree_with_the_value_path() {
    check(
        "agree",
        r#"
        local l = lpeg
        same(l.Ct(l.Cg(l.C(1), "a") * l.C(1) * l.Cg(l.C(1) * l.C(1), "b") * l.Cp()), "abcdef")
        same(l.Ct((l.C(1) / tonumber)^0), "12x")
        same(l.Ct(l.Cg(l.Ct(l.C(1) * l.Cg(l.Cc(nil), "n") * l.Cc(false)), "t")), "z")
        same(l.Cc(nil, false, 3) * l.Cp() * l.C(l.C(1) * l.C(1)), "ab")
        same(l.Cf(l.C(1) * (l.C(1) / tonumber)^0, function (a, b) return a .. b end), "x123")
        same(l.Cf(l.Ct"" * l.Cg(l.C(1) * l.C(1))^0, rawset), "aAbB")
        same((l.C(1) * l.C(1) * l.C(1)) / 2, "abc")
        same(l.C(1) / 0 * l.C(1), "ab")
        same(l.C(1) / { a = 1 } * (l.C(1) / { a = 1 }), "ab")
        same(l.C(1) / setmetatable({}, { __index = function (_, k) return k .. "!" end }), "q")
        same(l.C(1) / function (x) return x, nil, false end * l.C(1), "ab")
        same(l.Carg(2) * l.Carg(1) * l.C(1), "ab", 1, "e1", { 2 })
        same(l.Cmt(l.C(1), function (s, i, c) return i, c, nil, false end) * l.C(1), "ab")
        same(l.Cg(l.C(1) * l.C(1)) * l.Cg(l.C(1), "skipped") * l.Cg(l.P(1)), "abcd")
        same(l.Cs((l.C(1) / function (c) return c:upper() end + l.P(1) / 7 + 1)^0), "ab-c")
        same(l.Cs(l.C"a" * l.Cs(l.P"b" / "[%0]") * (l.P"c" / 1.5)), "abcd")
        same(l.Cs((l.P"x" / { x = "y" } + 1)^0), "axbx")
        same((l.C"a" * l.C"b" * l.Cc(12)) / "%3<%2%1%%>%0", "ab")
        same((l.C(l.C"a" * l.C"b") * l.Cs"c") / "%1|%2|%3|%4", "abc")
        same(l.Cg(l.C"a" * l.C"b", "g") * l.Cb"g" * l.Cg(l.Cc(1), 2) * l.Cb(2), "ab")
        same(l.Ct(l.Cg(l.C(1), "k") * l.Cb"k" * l.Cg(l.C(1) / "<%0>", "k") * l.Cb"k"), "xy")
        -- Numbers become text as Lua's tostring writes them, on both paths.
        local big = function () return 1e15 end
        assert(same(l.Cs(l.P"a" / big), "a") == "1e+15")
        assert(same((l.C"a" * (l.Cc(0) / big)) / "%2", "a") == "1e+15")
        assert(same(l.Cs(l.P"a" / function () return 0.5 end), "a") == "0.5")
        local x, nothing, f, pos = same(l.Cmt(1, function (s, i) return i, "x", nil, false end) * l.Cp(), "a")
        assert(x == "x" and nothing == nil and f == false and pos == 2)
        "#,
    );
}

#[test]
fn errors_in_capture_functions_come_back_and_leave_the_state_usable() {
    check(
        "errors",
        r#"
        local l = lpeg
        local boom = l.Ct(l.C(1) * (l.C(1) / function (c) error("boom " .. c) end))
        for i = 1, 200 do
            local ok, e = pcall(l.match, boom, "ab")
            assert(not ok and tostring(e):find("boom b", 1, true), tostring(e))
            local t = l.match(l.Ct(l.C(1)^0), "xyz")
            assert(#t == 3 and t[3] == "z")
        end
        local ok, e = pcall(l.match, l.Cf(l.C(1) * l.C(1), function () error({}) end), "ab")
        assert(not ok)
        "#,
    );
    assert!(
        error_of(r#"lpeg.match(lpeg.Ct(lpeg.Carg(3)), "a", 1, "x")"#)
            .contains("reference to absent extra argument #3")
    );
    assert!(
        error_of(r#"lpeg.match(lpeg.Ct((lpeg.C(1) * lpeg.C(1)) / 3), "ab")"#)
            .contains("no capture '3'")
    );
    let text = [
        (
            r#"lpeg.Cs(lpeg.P(1) / function () return {} end)"#,
            "invalid replacement value (a table)",
        ),
        (r#"lpeg.C(1) / "%3""#, "invalid capture index (3)"),
        (
            r#"(lpeg.C(1) * lpeg.Cg(lpeg.C(1), "n")) / "%2""#,
            "no values in capture index 2",
        ),
        (
            r#"(lpeg.P(1) * (lpeg.C(1) / 0)) / "%1""#,
            "no values in capture index 1",
        ),
        (
            r#"(lpeg.P(1) * (lpeg.Cc(true))) / "%1""#,
            "invalid capture value (a boolean)",
        ),
        (
            r#"lpeg.Cg(lpeg.C(1), "a") * lpeg.Cb"b""#,
            "back reference 'b' not found",
        ),
    ];
    for (p, msg) in text {
        let e = error_of(&format!(
            r#"lpeg.match(lpeg.Ct({p}) * lpeg.Cc(1, 2, 3, 4), "ab")"#
        ));
        assert!(e.contains(msg), "{p}: {e}");
    }
    assert!(
        error_of(r#"lpeg.match(lpeg.Ct(lpeg.Cf(lpeg.Cg(lpeg.C(1), "n"), print)), "a")"#)
            .contains("no initial value for fold capture")
    );
}

#[test]
fn many_values_need_stack_space_or_fail_in_lpegs_words() {
    check(
        "many",
        r##"
        local l = lpeg
        local s = string.rep("a", 100000)
        local t = l.match(l.Ct(l.C(1)^0), s)
        assert(#t == 100000 and t[100000] == "a")
        local ok, e = pcall(l.match, l.C(1)^0, s)
        assert(not ok and tostring(e):find("too many captures", 1, true), tostring(e))
        assert(select("#", l.match(l.C(1)^0, s:sub(1, 5000))) == 5000)
        -- As in C LPeg, a group's values are all on the stack before a table takes them.
        local ok, e = pcall(l.match, l.Ct(l.Cg(l.C(1)^0)), s)
        assert(not ok and tostring(e):find("too many captures", 1, true), tostring(e))
        -- Match-time values are passed to the raw path on the stack: many take the other.
        local t = l.match(l.Ct(l.Cmt(1, function (_, i) return i, i end)^0), s:sub(1, 9000))
        assert(#t == 9000 and t[9000] == 9001)
        same(l.Cmt(1, function (_, i) return i, i end)^0, s:sub(1, 199))
        "##,
    );
}

#[test]
fn deep_nesting_evaluates_up_to_the_limit() {
    check(
        "deep",
        r#"
        local l = lpeg
        local f = l.C"a"
        for i = 1, 150 do f = f / function (x) return x, i end end
        local x, i = l.match(f, "a")
        assert(x == "a" and i == 150)
        -- Nesting that grows with the subject: one table per "a".
        l.setmaxstack(2000)
        local p = l.P{ "S", S = l.Ct(l.C"a" * l.V"S"^-1 * l.Cp()) }
        local t = l.match(p, string.rep("a", 390))
        for i = 1, 389 do t = t[2] end
        assert(t[1] == "a" and t[2] == 391)
        local ok, e = pcall(l.match, p, string.rep("a", 500))
        assert(not ok and tostring(e):find("subcapture nesting too deep", 1, true), tostring(e))
        "#,
    );
}

#[test]
fn the_memory_limit_holds_during_a_large_table_capture() {
    let lua = state();
    lua.set_memory_limit(8 << 20).expect("memory limit");
    let code = r#"
        local s = string.rep("abcdefgh", 40000)
        local ok, e = pcall(lpeg.match, lpeg.Ct((lpeg.C(1) * lpeg.Cp())^0), s)
        assert(not ok and tostring(e):find("not enough memory", 1, true), tostring(e))
        local t = lpeg.match(lpeg.Ct(lpeg.C(1)^0), "abc")
        assert(#t == 3)
    "#;
    if let Err(e) = lua.load(code).set_name("memory").exec() {
        panic!("memory: {e}");
    }
}

#[test]
fn a_hook_error_in_a_capture_function_aborts_the_match() {
    let lua = state();
    let triggers = mlua::HookTriggers::new().every_nth_instruction(1000);
    lua.set_hook(triggers, |_, _| {
        Err(mlua::Error::runtime("instruction limit"))
    })
    .expect("hook");
    let code = r#"
        local spin = lpeg.C(1) / function () while true do end end
        local ok, e = pcall(lpeg.match, lpeg.Ct(lpeg.C(1) * spin), "ab")
        return ok, tostring(e)
    "#;
    let (ok, e): (bool, String) = match lua.load(code).eval() {
        Ok(r) => r,
        Err(e) => panic!("hook: {e}"),
    };
    assert!(!ok && e.contains("instruction limit"), "{e}");
    lua.remove_hook();
    let n: usize = lua
        .load(r#"return #lpeg.match(lpeg.Ct(lpeg.C(1)^0), "abc")"#)
        .eval()
        .expect("usable after the error");
    assert_eq!(n, 3);
}
