//! The `re` module from re.html: its syntax element by element and its examples.

mod common;
use common::{error_of, run};

#[test]
fn functions() {
    run(
        "re functions",
        r#"
        assert(re.match("the number 423 is odd", "({%a+} / .)*") == "the")
        local t = { re.match("the number 423 is odd", "({%a+} / .)*") }
        assert(#t == 4 and t[2] == "number" and t[4] == "odd")
        assert(re.match("the number 423 is odd", "s <- {%d+} / . s") == "423")
        local i, e = re.find("the number 423 is odd", "%d+")
        assert(i == 12 and e == 14)
        assert(re.find("abc", "'x'") == nil)
        assert(re.find("abcabc", "'c'", 4) == 6)
        assert(re.gsub("hello World", "[aeiou]", ".") == "h.ll. W.rld")
        assert(re.gsub("abc", "{.}", "%1%1") == "aabbcc")
        local p = re.compile("'a'")
        assert(re.compile(p) == p)
        assert(lpeg.type(p) == "pattern" and p:match("a") == 2)
        re.updatelocale()
    "#,
    );
}

#[test]
fn syntax() {
    run(
        "re syntax",
        r#"
        local m = re.match
        assert(m("abc", "'abc'") == 4 and m("abc", '"ab"') == 3)
        assert(m("x", "[a-z]") == 2 and m("X", "[a-z]") == nil)
        assert(m("]", "[]]") == 2 and m("-", "[a-]") == 2)
        assert(m("b", "[^a]") == 2 and m("a", "[^a]") == nil)
        assert(m("5", "[%d]") == 2 and m("x", "[_x%d]") == 2)
        assert(m("x", ".") == 2 and m("", ".") == nil)
        assert(m("\n", "%nl") == 2)
        assert(m("a1 ", "%a %w %s") == 4 and m("a1 ", "%a%w%s") == 4)  -- spaces separate items only
        assert(m("A", "%L") == 2 and m("a", "%L") == nil)
        assert(m("1", "%digit") == 2)
        assert(m("aaa", "'a'*") == 4 and m("", "'a'+") == nil and m("b", "'a'?") == 1)
        assert(m("aaaa", "'a'^3") == 4 and m("aa", "'a'^3") == nil)
        assert(m("aaaa", "'a'^+2") == 5 and m("a", "'a'^+2") == nil)
        assert(m("aaaa", "'a'^-2") == 3)
        assert(m("ab", "&'a' 'ab'") == 3 and m("ab", "!'a' 'ab'") == nil)
        assert(m("ab", "'a' / 'b'") == 2 and m("b", "'a' / 'b'") == 2)
        assert(m("ab", "('a' 'b')") == 3)
        assert(m("ab", "{}'a'{}") == 1)
        assert(m("ab", "{'a'} 'b'") == "a")
        local t = m("ab", "{| {'a'} {:k: 'b' :} |}")
        assert(t[1] == "a" and t.k == "b")
        local x, y = m("ab", "{: {'a'} {'b'} :}")
        assert(x == "a" and y == "b")
        assert(m("aXb", "{~ ('X' -> 'Y' / .)* ~}") == "aYb")
        assert(m("ab", "({'a'} {'b'}) -> 2") == "b")
        assert(m("ab", "({'a'} {'b'}) -> '%2%1'") == "ba")
        local t2 = m("ab", "({'a'} {'b'}) -> {}")
        assert(t2[1] == "a" and t2[2] == "b")
        assert(m("aXa", "{:q: 'a' :} 'X' =q") == 4)
        assert(m("aXb", "{:q: 'a' :} 'X' =q") == nil)
        assert(m("ab", "A <- 'a' <B>  B <- 'b'") == 3)
        assert(m("ab", [[
            -- comments run to the end of the line
            A <- 'a' B   -- the first rule is the initial one
            B <- 'b'
        ]]) == 3)
    "#,
    );
}

#[test]
fn definitions() {
    run(
        "re defs",
        r#"
        local defs = {
            num = lpeg.R"09"^1,
            tonum = tonumber,
            twice = function (s, i, c) return true, c .. c end,
            add = function (a, b) return a + b end,
            sym = { x = "X" },
        }
        local c = function (p) return re.compile(p, defs) end
        assert(c("{%num}"):match("42") == "42")
        assert(c("%num -> tonum"):match("42") == 42)
        assert(c("{'a'} => twice"):match("a") == "aa")
        assert(c("(%num -> tonum (',' %num -> tonum)*) ~> add"):match("1,2,3") == 6)
        assert(c("{.} -> sym"):match("x") == "X")
    "#,
    );
}

#[test]
fn the_examples_of_re_html() {
    run(
        "re examples",
        r#"
        local b = re.compile[[  balanced <- "(" ([^()] / balanced)* ")"  ]]
        assert(b:match("(a(b)c)") == 8)
        local rev = re.compile[[ R <- (!.) -> '' / ({.} R) -> '%2%1']]
        assert(rev:match"0123456789" == "9876543210")
        local record = re.compile[[
          record <- {| field (',' field)* |} (%nl / !.)
          field <- escaped / nonescaped
          nonescaped <- { [^,"%nl]* }
          escaped <- '"' {~ ([^"] / '""' -> '"')* ~} '"'
        ]]
        local t = record:match('a,"b""c",d')
        assert(t[1] == "a" and t[2] == 'b"c' and t[3] == "d")
        local c = re.compile([[
          longstring <- ('[' {:eq: '='* :} '[' close)
          close <- ']' =eq ']' / . close
        ]])
        assert(c:match'[==[]]===]]]]==]===[]' == 17)
        local p = re.compile([[
              text <- {~ item* ~}
              item <- macro / [^()] / '(' item* ')'
              arg <- ' '* {~ (!',' item)* ~}
              args <- '(' arg (',' arg)* ')'
              -- now we define some macros
              macro <- ('apply' args) -> '%1(%2)'
                     / ('add' args) -> '%1 + %2'
                     / ('mul' args) -> '%1 * %2'
        ]])
        assert(p:match"add(mul(a,b), apply(f,x))" == "a * b + f(x)")
    "#,
    );
}

#[test]
fn malformed_patterns_give_errors() {
    assert!(error_of("re.compile('(')").contains("pattern error near"));
    assert!(error_of("re.compile(\"'abc\")").contains("pattern error near"));
    assert!(error_of("re.compile('[a')").contains("pattern error near"));
    assert!(error_of("re.compile('a b')").contains("rule 'a' used outside a grammar"));
    assert!(error_of("re.compile('%foo')").contains("name 'foo' undefined"));
    assert!(error_of("re.compile('. -> f')").contains("undefined name: f"));
    assert!(error_of("re.compile('A <- . A <- .')").contains("'A' already defined as a rule"));
    assert!(error_of("re.compile('A <- B')").contains("rule 'B' undefined"));
    assert!(error_of("re.compile('A <- A .')").contains("may be left recursive"));
    assert!(error_of("re.compile(('(' ):rep(1000))").contains("too deep"));
    assert!(error_of("re.compile('{: . :')").contains("pattern error near"));
    assert!(error_of("re.compile('.^')").contains("pattern error near"));
}
