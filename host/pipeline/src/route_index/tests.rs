//! The index against the naive router (every matcher, in order), on seeded random
//! matchers built from the grammar's pieces and random messages; and the plans it
//! picks for the shapes that matter.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// Header values drawn for both literals and messages (small, so they collide).
const VALUES: [&str; 4] = ["", "a", "b", "c"];
const HEADERS: [&str; 5] = ["Type", "Logger", "Hostname", "EnvVersion", "Payload"];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// One test of the grammar, biased to header equalities (what the index keys on).
fn leaf(rng: &mut StdRng) -> String {
    let h = pick(rng, &HEADERS);
    let v = pick(rng, &VALUES);
    match rng.random_range(0..14) {
        0..=4 => format!("{h} == '{v}'"),
        5 => format!("{h} != '{v}'"),
        6 => format!("{h} {} '{v}'", pick(rng, &["<", "<=", ">", ">="])),
        7 => format!("{h} =~ /^{v}$/"),
        8 => format!(
            "{h} {} /{}/",
            pick(rng, &["=~", "!~"]),
            pick(rng, &["^a", "b$", "c", "^(a|b)$", "^$"])
        ),
        9 => pick(rng, &["TRUE", "FALSE"]).to_owned(),
        10 => format!("Severity {} 4", pick(rng, &["<", "==", ">="])),
        11 => format!("Fields[f] == '{v}'"),
        12 => format!("Fields[f] {} NIL", pick(rng, &["==", "!="])),
        _ => format!("Type == '{v}' && Logger == '{}'", pick(rng, &VALUES)),
    }
}

/// A random expression: nested `&&` and `||` of leaves, `depth` levels at most.
fn expr(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.random_bool(0.4) {
        return leaf(rng);
    }
    let op = if rng.random_bool(0.6) { " && " } else { " || " };
    let terms: Vec<String> = (0..rng.random_range(2..=3))
        .map(|_| expr(rng, depth - 1))
        .collect();
    format!("({})", terms.join(op))
}

/// A route's matcher: `None` (takes everything) now and then, and now and then
/// two juxtaposed expressions (Heka's `spec expr`: the last decides).
fn matcher(rng: &mut StdRng) -> Option<Matcher> {
    let text = match rng.random_range(0..12) {
        0 => return None,
        1 => format!("{} {}", expr(rng, 2), expr(rng, 2)),
        _ => expr(rng, 3),
    };
    Some(Matcher::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn message(rng: &mut StdRng) -> Message {
    let mut header = || match rng.random_range(0..5) {
        0 => None,
        i => Some(VALUES[i - 1].to_owned()),
    };
    let mut m = Message {
        r#type: header(),
        logger: header(),
        hostname: header(),
        env_version: header(),
        payload: header().map(String::into_bytes),
        ..Default::default()
    };
    m.severity = Some(rng.random_range(0..8));
    if rng.random_bool(0.5) {
        let v = pick(rng, &VALUES);
        m.add_field("f", heka_message::Value::String(v.into()), "");
    }
    m
}

#[test]
fn indexed_routing_is_naive_routing_on_random_matchers_and_messages() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut tested = (0, 0);
    let mut plans = [0; 1 + MAX_KEYED];
    for case in 0..400 {
        let routes: Vec<Option<Matcher>> = (0..rng.random_range(1..40))
            .map(|_| matcher(&mut rng))
            .collect();
        let index = RouteIndex::build(routes.iter().map(Option::as_ref));
        plans[index.keyed_headers().len()] += 1;
        let accepts = |i: usize, m: &Message| routes[i].as_ref().is_none_or(|r| r.matches(m));
        for _ in 0..10 {
            let msg = message(&mut rng);
            let candidates: Vec<usize> = index.candidates(&msg).collect();
            assert!(
                candidates.windows(2).all(|w| w[0] < w[1]),
                "case {case}: candidates out of order or repeated: {candidates:?}"
            );
            let naive: Vec<usize> = (0..routes.len()).filter(|&i| accepts(i, &msg)).collect();
            let indexed: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| accepts(i, &msg))
                .collect();
            assert_eq!(indexed, naive, "case {case}: {msg:?}\n{:#?}", routes);
            tested = (tested.0 + candidates.len(), tested.1 + routes.len());
        }
    }
    // Not a speed assertion: the index must skip some routes, or it indexes nothing.
    assert!(tested.0 < tested.1, "{tested:?}");
    // Every kind of plan was exercised: none keyed, one header, two.
    assert!(plans.iter().all(|&n| n > 0), "{plans:?}");
}

fn parse_all(exprs: &[&str]) -> Vec<Matcher> {
    exprs.iter().map(|e| Matcher::parse(e).unwrap()).collect()
}

fn line(type_: &str, logger: &str) -> Message {
    Message {
        r#type: Some(type_.into()),
        logger: Some(logger.into()),
        ..Default::default()
    }
}

/// The bench's row 10: the aggregator on `Logger == 'Bench'`, the output on
/// `Logger == 'Agg'`, 99 filters on `Logger == 'Bench' && Type == 'otherN'`.
#[test]
fn the_hundred_filters_key_type() {
    let mut exprs = vec!["Logger == 'Bench'".to_owned(), "Logger == 'Agg'".to_owned()];
    exprs.extend((1..100).map(|i| format!("Logger == 'Bench' && Type == 'other{i}'")));
    let matchers = parse_all(&exprs.iter().map(String::as_str).collect::<Vec<_>>());
    let index = RouteIndex::build(matchers.iter().map(Some));
    assert_eq!(index.keyed_headers(), [TextHeader::Type]);
    let tested = |m: &Message| index.candidates(m).collect::<Vec<_>>();
    assert_eq!(tested(&line("", "Bench")), [0, 1]);
    assert_eq!(tested(&line("other7", "Bench")), [0, 1, 8]);
    assert_eq!(tested(&line("other99", "x")), [0, 1, 100]);
}

/// Routes that split on two headers: both keyed, and a message's two buckets merge
/// in route order.
#[test]
fn two_headers_are_keyed_when_each_splits_its_routes() {
    let exprs: Vec<String> = (0..10)
        .flat_map(|i| [format!("Logger == 'l{i}'"), format!("Type == 't{i}'")])
        .chain(["TRUE".to_owned()])
        .collect();
    let matchers = parse_all(&exprs.iter().map(String::as_str).collect::<Vec<_>>());
    let index = RouteIndex::build(matchers.iter().map(Some));
    assert_eq!(
        index.keyed_headers(),
        [TextHeader::Type, TextHeader::Logger]
    );
    let tested = |m: &Message| index.candidates(m).collect::<Vec<_>>();
    assert_eq!(tested(&line("t3", "l3")), [6, 7, 20]);
    assert_eq!(tested(&line("t3", "l4")), [7, 8, 20]);
    assert_eq!(tested(&line("t9", "l0")), [0, 19, 20]);
    assert_eq!(tested(&line("", "")), [20]);
}

#[test]
fn routes_without_a_requirement_are_always_tested_in_order() {
    let matchers = parse_all(&[
        "TRUE",
        "Type == 'a'",
        "Type =~ /^a/",
        "Type == 'a' || Type == 'b'",
        "Fields[x] == 'a'",
        "Type == 'b' && FALSE",
        "FALSE",
        "Type == 'c'",
    ]);
    let mut routes: Vec<Option<&Matcher>> = matchers.iter().map(Some).collect();
    routes.insert(7, None);
    let index = RouteIndex::build(routes);
    assert_eq!(index.keyed_headers(), [TextHeader::Type]);
    let tested = |t: &str| index.candidates(&line(t, "")).collect::<Vec<_>>();
    // Routes 5 and 6 can never match: no message tests them.
    assert_eq!(tested("a"), [0, 1, 2, 3, 4, 7]);
    assert_eq!(tested("b"), [0, 2, 3, 4, 7]);
    assert_eq!(tested("z"), [0, 2, 4, 7]);
    assert_eq!(tested("c"), [0, 2, 4, 7, 8]);
}

/// Keying costs a lookup per message: it is done only when it lowers the number of
/// routes a message can be tested against at worst.
#[test]
fn nothing_is_keyed_when_no_header_narrows_the_routes() {
    for exprs in [
        &["TRUE", "Type != 'a'"][..],
        &["Type == 'a'"][..],
        &["Type == 'a' || Type == 'b'", "Logger == 'x'"][..],
        &["Logger == 'Bench'", "Logger == 'Agg'"][..],
        &["Type == 'a'", "Type == 'b'", "Type == 'c'"][..],
        &[][..],
    ] {
        let matchers = parse_all(exprs);
        let index = RouteIndex::build(matchers.iter().map(Some));
        assert!(index.keyed_headers().is_empty(), "{exprs:?}");
        let tested: Vec<usize> = index.candidates(&line("q", "q")).collect();
        assert_eq!(tested, (0..exprs.len()).collect::<Vec<_>>(), "{exprs:?}");
    }
    let matchers = parse_all(&["Type == 'a'", "Type == 'b'", "Type == 'c'", "Type == 'd'"]);
    let index = RouteIndex::build(matchers.iter().map(Some));
    assert_eq!(index.keyed_headers(), [TextHeader::Type]);
}
