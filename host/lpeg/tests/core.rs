//! The core (trees, compiler, VM) without Lua: charsets, operators, grammars, errors
//! and the capture list, with `()` as the host value type.

use heka_lpeg::Error;
use heka_lpeg::charset::Charset;
use heka_lpeg::checked;
use heka_lpeg::compile::compile;
use heka_lpeg::grammar;
use heka_lpeg::tree::{self, CapKind, Name, Patt};
use heka_lpeg::vm::{self, Capture, Host, Runtime, Tag};

type P = Patt<()>;

struct NoHost {
    charged: u64,
}

impl Host<()> for NoHost {
    type Value = ();
    type Error = Error;
    fn runtime(
        &mut self,
        _: &heka_lpeg::compile::Program<()>,
        _: &[Capture],
        _: usize,
        pos: usize,
        _: &[()],
    ) -> Result<Runtime<()>, Error> {
        Ok(Runtime::Continue(pos, vec![()]))
    }
    fn charge(&mut self, steps: u64) -> Result<(), Error> {
        self.charged += steps;
        Ok(())
    }
}

fn m(p: &P, s: &str) -> Option<usize> {
    m_with(p, s, 400).unwrap().map(|x| x + 1)
}

fn m_with(p: &P, s: &str, max_stack: usize) -> Result<Option<usize>, Error> {
    let prog = compile(p)?;
    let mut h = NoHost { charged: 0 };
    Ok(vm::run(&prog, s.as_bytes(), 0, max_stack, &mut h)?.map(|r| r.end))
}

fn caps(p: &P, s: &str) -> Vec<Capture> {
    let prog = compile(p).unwrap();
    let mut h = NoHost { charged: 0 };
    vm::run(&prog, s.as_bytes(), 0, 400, &mut h)
        .unwrap()
        .unwrap()
        .caps
}

fn lit(s: &str) -> P {
    tree::literal(s.as_bytes())
}
fn set(s: &str) -> P {
    tree::set(Charset::from_bytes(s.as_bytes()))
}
fn range(a: u8, b: u8) -> P {
    tree::set(Charset::range(a, b))
}
fn seq(a: &P, b: &P) -> P {
    tree::seq(a, b).unwrap()
}
fn alt(a: &P, b: &P) -> P {
    tree::choice(a, b).unwrap()
}
fn rep(a: &P, n: i64) -> P {
    checked::repeat(a, n).unwrap()
}
fn name(s: &str) -> Name {
    Name::Str(s.as_bytes().into())
}
fn v(s: &str) -> P {
    tree::open(name(s))
}

#[test]
fn literals_sets_and_any() {
    assert_eq!(m(&lit("abc"), "abcd"), Some(4));
    assert_eq!(m(&lit("abc"), "abd"), None);
    assert_eq!(m(&lit(""), "x"), Some(1));
    assert_eq!(m(&tree::any(3), "ab"), None);
    assert_eq!(m(&tree::any(3), "abc"), Some(4));
    assert_eq!(m(&set("xyz"), "z"), Some(2));
    assert_eq!(m(&range(b'0', b'9'), "a"), None);
    assert_eq!(m(&tree::succeed(), ""), Some(1));
    assert_eq!(m(&tree::fail(), "a"), None);
}

#[test]
fn operators() {
    let digit = range(b'0', b'9');
    let digits = rep(&digit, 1);
    assert_eq!(m(&digits, "123a"), Some(4));
    assert_eq!(m(&digits, "a"), None);
    assert_eq!(m(&rep(&lit("ab"), 0), "ababa"), Some(5));
    assert_eq!(m(&rep(&lit("ab"), 2), "ab"), None);
    assert_eq!(m(&rep(&lit("ab"), -2), "ababab"), Some(5));
    assert_eq!(m(&rep(&lit("ab"), -2), "x"), Some(1));
    // ordered choice, no backtracking into a committed alternative
    assert_eq!(m(&alt(&lit("a"), &lit("ab")), "ab"), Some(2));
    assert_eq!(
        m(&seq(&alt(&lit("ab"), &lit("a")), &lit("c")), "ac"),
        Some(3)
    );
    // difference, not, and
    let notx = tree::diff(&tree::any(1), &lit("x")).unwrap();
    assert_eq!(m(&rep(&notx, 0), "abxc"), Some(3));
    assert_eq!(m(&tree::not(&lit("a")).unwrap(), "b"), Some(1));
    assert_eq!(m(&tree::not(&lit("a")).unwrap(), "a"), None);
    assert_eq!(m(&tree::and(&lit("ab")).unwrap(), "ab"), Some(1));
    assert_eq!(m(&tree::and(&rep(&lit("a"), 1)).unwrap(), "b"), None);
    // B
    let b = checked::behind(&lit("a")).unwrap();
    assert_eq!(m(&seq(&tree::any(1), &b), "a"), Some(2));
    assert_eq!(m(&seq(&tree::any(1), &b), "b"), None);
    assert_eq!(m(&b, "a"), None);
    assert_eq!(
        checked::behind(&rep(&lit("a"), 0)).unwrap_err(),
        Error::NotFixedLength
    );
    assert_eq!(
        checked::behind(&tree::any::<()>(300)).unwrap_err(),
        Error::BehindTooLong
    );
    // search: (1 - "x")^0 * "x" and the classic anywhere grammar
    let g = grammar::build(
        vec![(
            Name::Num(1f64.to_bits()),
            alt(
                &lit("needle"),
                &seq(&tree::any(1), &tree::open(Name::Num(1f64.to_bits()))),
            ),
        )],
        &Name::Num(1f64.to_bits()),
    )
    .unwrap();
    assert_eq!(m(&g, "hay needle hay"), Some(11));
    assert_eq!(m(&g, "hay"), None);
}

#[test]
fn loops_on_empty_are_refused() {
    assert_eq!(
        checked::repeat(&rep(&lit("a"), 0), 0).unwrap_err(),
        Error::EmptyLoop
    );
    assert_eq!(
        checked::repeat(&tree::succeed::<()>(), 1).unwrap_err(),
        Error::EmptyLoop
    );
    let g = grammar::build(
        vec![(name("S"), rep(&v("A"), 0)), (name("A"), rep(&lit("a"), 0))],
        &name("S"),
    );
    assert_eq!(g.unwrap_err(), Error::EmptyLoopInRule("S".into()));
}

#[test]
fn grammars_and_their_errors() {
    // balanced parentheses: B <- "(" ((1 - S"()") + B)^0 ")"
    let body = seq(
        &seq(
            &lit("("),
            &rep(
                &alt(&tree::diff(&tree::any(1), &set("()")).unwrap(), &v("B")),
                0,
            ),
        ),
        &lit(")"),
    );
    let g = grammar::build(vec![(name("B"), body)], &name("B")).unwrap();
    assert_eq!(m(&g, "(a(b)((c))d)x"), Some(13));
    assert_eq!(m(&g, "(a(b"), None);
    let left = grammar::build(
        vec![(name("A"), alt(&seq(&v("A"), &lit("a")), &lit("b")))],
        &name("A"),
    );
    assert_eq!(left.unwrap_err(), Error::LeftRecursive("A".into()));
    let mutual = grammar::build(
        vec![
            (name("A"), seq(&v("B"), &lit("a"))),
            (name("B"), alt(&v("A"), &lit("b"))),
        ],
        &name("A"),
    );
    assert!(matches!(mutual.unwrap_err(), Error::LeftRecursive(_)));
    let undef = grammar::build(vec![(name("A"), v("C"))], &name("A"));
    assert_eq!(undef.unwrap_err(), Error::UndefinedRule("C".into()));
    let noinit = grammar::build(vec![(name("A"), lit("a"))], &name("Z"));
    assert_eq!(noinit.unwrap_err(), Error::NoInitialRule("Z".into()));
    assert_eq!(
        compile(&*v("x")).unwrap_err(),
        Error::OutsideGrammar("x".into())
    );
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    // S <- "(" S ")" / "": nesting needs one call frame per level.
    let s = alt(&seq(&seq(&lit("("), &v("S")), &lit(")")), &tree::succeed());
    let g = grammar::build(vec![(name("S"), s)], &name("S")).unwrap();
    let deep = format!("{}{}", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(
        m_with(&g, &deep, 400).unwrap_err(),
        Error::StackOverflow(400)
    );
    assert_eq!(m_with(&g, &deep, 5000).unwrap(), Some(2000));
}

#[test]
fn tail_calls_do_not_grow_the_stack() {
    // S <- "a" S / "": a loop written as recursion runs in constant stack.
    let s = alt(&seq(&lit("a"), &v("S")), &tree::succeed());
    let g = grammar::build(vec![(name("S"), s)], &name("S")).unwrap();
    let long = "a".repeat(100_000);
    // "a" S cannot fail once its "a" matched (S never fails), so no backtrack entry
    // is pushed and the tail call is a jump: any length runs in constant stack.
    assert_eq!(m_with(&g, &long, 400).unwrap(), Some(100_000));
    let s2 = alt(&seq(&lit("a"), &v("S")), &lit("b"));
    let g2 = grammar::build(vec![(name("S"), seq(&tree::any(0), &s2))], &name("S")).unwrap();
    assert!(
        m_with(&g2, &format!("{}b", "a".repeat(10)), 400)
            .unwrap()
            .is_some()
    );
}

#[test]
fn captures_are_recorded_flat() {
    let c = |k, p: &P| tree::capture(k, None, 0, p).unwrap();
    let p = seq(
        &c(CapKind::Simple, &lit("ab")),
        &c(CapKind::Table, &rep(&c(CapKind::Simple, &set("xy")), 0)),
    );
    let cs = caps(&p, "abxyx");
    assert_eq!(cs[0].tag, Tag::Full);
    assert_eq!((cs[0].pos, cs[0].len), (0, 2));
    assert_eq!(cs[1].tag, Tag::Open);
    assert_eq!(cs.iter().filter(|c| c.tag == Tag::Full).count(), 4);
    assert_eq!(cs.last().unwrap().tag, Tag::Close);
    // Captures of a failed alternative are dropped.
    let q = alt(&seq(&c(CapKind::Simple, &lit("a")), &lit("x")), &lit("ab"));
    assert!(caps(&q, "ab").is_empty());
}

#[test]
fn match_time_captures_run_during_the_match() {
    let p = tree::capture(CapKind::Runtime, Some(()), 0, &lit("ab")).unwrap();
    let cs = caps(&seq(&p, &lit("c")), "abc");
    assert_eq!(cs.iter().filter(|c| c.kind == CapKind::Runtime).count(), 1);
}

#[test]
fn work_is_charged() {
    let p = rep(&alt(&lit("ab"), &tree::any(1)), 0);
    let prog = compile(&*p).unwrap();
    let mut h = NoHost { charged: 0 };
    let s = "x".repeat(100_000);
    vm::run(&prog, s.as_bytes(), 0, 400, &mut h).unwrap();
    assert!(h.charged >= 100_000, "charged {}", h.charged);
}

#[test]
fn huge_patterns_are_refused() {
    let mut p = lit("a");
    let mut err = None;
    for _ in 0..1000 {
        match tree::not(&p) {
            Ok(q) => p = q,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert_eq!(err, Some(Error::TooComplex));
    assert_eq!(
        checked::repeat(&lit("abc"), 10_000_000).unwrap_err(),
        Error::TooComplex
    );
    // A flat choice of many words stays fine.
    let mut words = lit("w0;");
    for i in 1..3000 {
        words = alt(&words, &lit(&format!("w{i};")));
    }
    assert_eq!(m(&words, "w2999;"), Some(7));
}
