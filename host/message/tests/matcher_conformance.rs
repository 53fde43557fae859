//! Conformance table for the matcher, written from Heka's grammar and semantics
//! (reference §3, `message_matcher_parser.y`, `message_matcher.go`) against one fixed
//! message. Each row is an expression and its expected outcome: match, no match, or
//! a parse error at a byte offset with a phrase of what was expected there.

use heka_message::{Field, Matcher, Message, Value};

fn test_message() -> Message {
    let mut m = Message {
        uuid: vec![
            0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70, 0x86, 0x77, 0x28,
            0x95, 0x0e,
        ],
        timestamp: 1_700_000_000_000_000_000,
        r#type: Some("TEST".into()),
        logger: Some("GoSpec".into()),
        severity: Some(6),
        payload: Some("Test Payload".into()),
        env_version: Some("0.8".into()),
        pid: Some(14098),
        hostname: Some("hostname".into()),
        fields: Vec::new(),
    };
    m.add_field("foo", Value::String("bar".into()), "");
    m.add_field("number", Value::Integer(64), "count");
    m.add_field("bytes", Value::Bytes(b"data".to_vec()), "");
    let mut ints = Field::new("int", Value::Integer(999), "");
    ints.push(Value::Integer(1024));
    m.fields.push(ints);
    m.add_field("double", Value::Double(99.9), "");
    m.add_field("bool", Value::Bool(true), "");
    m.add_field("foo", Value::String("alternate".into()), "");
    m.add_field("false", Value::Bool(false), "");
    m.add_field("empty", Value::String(Vec::new()), "");
    let mut arr = Field::new("strarr", Value::String("a".into()), "");
    arr.push(Value::String("b".into()));
    arr.push(Value::String("c".into()));
    m.fields.push(arr);
    m.add_field("name with space", Value::String("x y".into()), "");
    m.add_field("dotted.name", Value::String("v".into()), "");
    m.add_field("blob", Value::Bytes(vec![0xff, 0x00]), "");
    m.add_field("quote", Value::String("it's \"quoted\"".into()), "");
    m.add_field("path", Value::String("C:\\dir".into()), "");
    m.add_field("url", Value::String("http://example.com/a".into()), "");
    // Present, typed STRING, but holding no value.
    m.fields.push(Field {
        name: "nothing".into(),
        value_type: Some(0),
        ..Default::default()
    });
    m
}

enum Want {
    T,
    F,
    /// Parse error at this byte offset; the `expected` text contains the phrase.
    E(usize, &'static str),
}
use Want::*;

const TABLE: &[(&str, Want)] = &[
    // ---- constants, precedence, grouping, juxtaposition ----
    ("TRUE", T),
    ("FALSE", F),
    ("(TRUE)", T),
    ("((TRUE))", T),
    ("TRUE && FALSE", F),
    ("FALSE || FALSE", F),
    ("TRUE || FALSE && FALSE", T), // && binds tighter: TRUE || (FALSE && FALSE)
    ("FALSE && FALSE || TRUE", T), // (FALSE && FALSE) || TRUE
    ("FALSE && TRUE || FALSE", F),
    ("(TRUE || FALSE) && FALSE", F),
    ("TRUE && (FALSE || FALSE)", F),
    ("FALSE TRUE", T), // Heka: the last juxtaposed expression decides
    ("TRUE FALSE", F),
    ("Type == 'x' Type == 'TEST'", T),
    // ---- string headers ----
    ("Type == 'TEST'", T),
    ("Type == \"TEST\"", T),
    ("Type == 'test'", F),
    ("Type != 'test'", T),
    ("Type != 'TEST'", F),
    ("Type < 'TEST1'", T),
    ("Type < 'TEST'", F),
    ("Type <= 'TEST'", T),
    ("Type > 'TES'", T),
    ("Type > 'TEST'", F),
    ("Type >= 'TEST'", T),
    ("Type > 'A'", T),
    ("Logger == 'GoSpec'", T),
    ("Logger == 'gospec'", F),
    ("Payload == 'Test Payload'", T),
    ("EnvVersion == '0.8'", T),
    ("EnvVersion == ''", F),
    ("EnvVersion > ''", T),
    ("Hostname == 'hostname'", T),
    ("Hostname < 'host'", F),
    ("Uuid == '0f8fad5b-d9cb-469f-a165-70867728950e'", T),
    ("Uuid == '0F8FAD5B-D9CB-469F-A165-70867728950E'", F),
    ("Uuid =~ /^0f8fad5b-/", T),
    // ---- regexes and their literal shortcuts ----
    ("Type =~ /TEST/", T),
    ("Type =~ /^TE/", T),
    ("Type =~ /^EST/", F),
    ("Type =~ /ST$/", T),
    ("Type =~ /TES$/", F),
    ("Type =~ /^TEST$/", T),
    ("Type =~ /^TES$/", F),
    ("Type =~ /^EST$/", F), // Heka would have reduced this to "ends with EST" (true)
    ("Type =~ /T.S/", T),
    ("Type !~ /foo/", T),
    ("Type !~ /TEST/", F),
    ("Payload =~ /(?i)PAYLOAD/", T),
    ("Payload =~ /^Payload/", F),
    ("Payload =~ /y\\w+d$/", T),
    ("Hostname =~ //", T),
    ("Hostname =~ /^host/ && Logger =~ /Spec$/", T),
    ("Fields[url] =~ /^http:\\/\\/example/", T),
    ("Fields[url] =~ /\\.com\\//", T),
    ("Fields[url] =~ /\\.org/", F),
    // ---- numeric headers ----
    ("Timestamp == 1.7e18", T),
    ("Timestamp == 1700000000000000000", T),
    ("Timestamp > 1e18", T),
    ("Timestamp < 1e18", F),
    ("Severity == 6", T),
    ("Severity == 6.", T),
    ("Severity == 7", F),
    ("Severity != 7", T),
    ("Severity < 7", T),
    ("Severity <= 6", T),
    ("Severity > 6", F),
    ("Pid == 14098", T),
    ("Pid > 14097.5", T),
    ("Pid == 0", F),
    // ---- fields: indexes, names ----
    ("Fields[foo] == 'bar'", T),
    ("Fields[foo][0] == 'bar'", T),
    ("Fields[foo][0][0] == 'bar'", T),
    ("Fields[foo] == 'alternate'", F),
    ("Fields[foo][1] == 'alternate'", T),
    ("Fields[foo][1] == 'bar'", F),
    ("Fields[foo][1][0] =~ /^alt/", T),
    ("Fields[foo][2] == 'bar'", F),
    ("Fields[foo] >= 'bar'", T),
    ("Fields[foo] =~ /bar|baz/", T),
    ("Fields[foo] !~ /^alt/", T),
    ("Fields[strarr][0][2] == 'c'", T),
    ("Fields[strarr][0][1] == 'c'", F),
    ("Fields[name with space] == 'x y'", T),
    ("Fields[name with space] == 'x'", F),
    ("Fields[dotted.name] == 'v'", T),
    ("Fields[empty] == ''", T),
    // ---- fields: numbers ----
    ("Fields[number] == 64", T),
    ("Fields[number] == 6.4e1", T),
    ("Fields[number] == .64e2", T),
    ("Fields[number] >= 64", T),
    ("Fields[number] < 64.5", T),
    ("Fields[int] == 999", T),
    ("Fields[int][0][1] == 1024", T),
    ("Fields[int][0][2] == 1024", F),
    ("Fields[int][0][1] > 1000 && Fields[int][0][0] < 1000", T),
    ("Fields[double] == 99.9", T),
    ("Fields[double] > 99", T),
    ("Fields[double] < 99.9", F),
    ("Fields[double] != 99.8", T),
    // ---- fields: bytes ----
    ("Fields[bytes] == 'data'", T),
    ("Fields[bytes] == 'dat'", F),
    ("Fields[bytes] =~ /at/", T),
    ("Fields[blob] == ''", F),
    ("Fields[blob] != 'x'", T),
    // ---- fields: bools ----
    ("Fields[bool] == TRUE", T),
    ("Fields[bool] == FALSE", F),
    ("Fields[false] == FALSE", T),
    ("Fields[false] == TRUE", F),
    // ---- type mismatches are false ----
    ("Fields[foo] == 5", F),
    ("Fields[foo] != 5", F),
    ("Fields[foo] == TRUE", F),
    ("Fields[number] == '64'", F),
    ("Fields[number] != 'x'", F),
    ("Fields[number] =~ /64/", F),
    ("Fields[number] == TRUE", F),
    ("Fields[double] =~ /99/", F),
    ("Fields[bool] == 1", F),
    ("Fields[bool] == 'TRUE'", F),
    ("Fields[false] != 'x'", F),
    // ---- NIL: existence ----
    ("Fields[missing] == NIL", T),
    ("Fields[missing] != NIL", F),
    ("Fields[missing] == 'x'", F),
    ("Fields[missing] != 'x'", F),
    ("Fields[foo] != NIL", T),
    ("Fields[foo] == NIL", F),
    ("Fields[foo][2] == NIL", T),
    ("Fields[strarr][0][3] == NIL", T),
    ("Fields[strarr][0][3] != NIL", F),
    ("Fields[bool] != NIL", T),
    ("Fields[nothing] == NIL", T),
    ("Fields[nothing] != NIL", F),
    ("Fields[empty] != NIL", T),
    ("Fields[empty] == NIL", F),
    // ---- strings: quotes and escapes ----
    ("Fields[quote] == 'it\\'s \"quoted\"'", T),
    ("Fields[quote] == \"it's \\\"quoted\\\"\"", T),
    ("Fields[quote] == 'it\\'s'", F),
    ("Fields[path] == 'C:\\dir'", T), // \d is kept as both characters
    ("Fields[path] == 'C:dir'", F),
    // ---- compound ----
    ("Type == 'TEST' && Severity == 6", T),
    ("Type == 'TEST' && Severity == 7", F),
    ("Type == 'x' || Severity == 6", T),
    ("Type == 'x' || Type == 'y' || Type == 'TEST'", T),
    ("(Type == 'x' || Type == 'TEST') && Pid == 14098", T),
    ("Fields[int][0][1] == 1024 || Fields[missing] == 1", T),
    ("Type=='TEST'&&Pid==14098", T),
    ("\tType == 'TEST'\t", T),
    ("Type == 'TEST'\nthis is ignored", T),
    ("Type == 'TEST'\n", T),
    // ---- malformed ----
    ("", E(0, "a test")),
    ("   ", E(3, "a test")),
    ("Type", E(4, "a comparison operator")),
    ("Type ==", E(7, "a quoted string")),
    ("Type == ", E(8, "a quoted string")),
    ("Type = 'x'", E(5, "'==' or '=~'")),
    ("Type === 'x'", E(7, "'==' or '=~'")),
    ("Type =! 'x'", E(5, "'==' or '=~'")),
    ("Type ! 'x'", E(5, "'!=' or '!~'")),
    ("Type == 5", E(8, "a quoted string")),
    ("Type == TRUE", E(8, "a quoted string")),
    ("Type == NIL", E(8, "a quoted string")),
    ("Type =~ 'x'", E(8, "a /regex/")),
    ("Type == /x/", E(8, "a quoted string")),
    ("Uuid == 1", E(8, "a quoted string")),
    ("Severity == '6'", E(12, "a number")),
    ("Severity =~ /6/", E(9, "relational operator")),
    ("Severity == -1", E(12, "negative")),
    ("Timestamp == NIL", E(13, "a number")),
    ("Pid == 1.2.3", E(7, "a number")),
    ("Pid == 1e", E(7, "a number")),
    ("Pid >== 1", E(6, "'==' or '=~'")),
    ("type == 'x'", E(0, "a token")),
    ("Foo == 'x'", E(0, "a variable")),
    ("NIL", E(0, "a test")),
    ("Fields == 'x'", E(6, "'[' after Fields")),
    ("Fields[] == 'x'", E(7, "a field name")),
    ("Fields[foo == 'x'", E(17, "']' closing the field name")),
    ("Fields[foo][a] == 'x'", E(12, "an index")),
    ("Fields[foo][1 == 'x'", E(13, "']' closing the index")),
    ("Fields[foo][0][0][0] == 'x'", E(17, "a token")),
    ("Fields[foo]", E(11, "a comparison operator")),
    ("Fields[foo] == ", E(15, "after Fields[foo] ==")),
    ("Fields[foo] != TRUE", E(15, "TRUE/FALSE only with ==")),
    ("Fields[foo] < NIL", E(14, "a quoted string or a number")),
    ("Fields[foo] =~ 'x'", E(15, "a /regex/")),
    ("Fields[foo] == NIL NIL", E(19, "the end of the expression")),
    ("Type == 'x' &&", E(14, "a test")),
    ("Type == 'x' ||", E(14, "a test")),
    ("&& TRUE", E(0, "a test")),
    ("(TRUE", E(5, "')' closing the '(' at offset 0")),
    ("Type == 'x' || (Type == 'y'", E(27, "')' closing")),
    ("TRUE)", E(4, "the end of the expression")),
    ("()", E(1, "a test")),
    ("Type == 'x", E(10, "closing '")),
    ("Type == \"x'", E(11, "closing \"")),
    ("Type == 'x\ny'", E(10, "closing '")),
    ("Type =~ /x", E(10, "closing /")),
    ("Type =~ /(/", E(8, "a valid regular expression")),
    ("Type =~ /[a-/", E(8, "a valid regular expression")),
    (
        "Fields[foo] =~ /a/ && Fields[foo] =~ /(/",
        E(37, "a valid regular expression"),
    ),
    ("Type == 'x' & Pid == 1", E(12, "'&&'")),
    ("Type == 'x' | Pid == 1", E(12, "'||'")),
    ("Type == 'x' &&& TRUE", E(14, "'&&'")),
    ("TRUE Foo", E(5, "a variable")),
    ("Type == 'x' 'y'", E(12, "the end of the expression")),
    ("Severity == 5 5", E(14, "the end of the expression")),
    ("Type\n== 'x'", E(4, "a comparison operator")),
    ("Severity == 1 && Type", E(21, "a comparison operator")),
    ("Payload == 'a' ; TRUE", E(15, "a token")),
    ("Type == 'x' && (TRUE || )", E(24, "a test")),
];

#[test]
fn conformance_table() {
    let msg = test_message();
    let mut failures = Vec::new();
    let (mut t, mut f, mut e) = (0, 0, 0);
    for (expr, want) in TABLE {
        let got = Matcher::parse(expr);
        let ok = match (want, &got) {
            (T, Ok(m)) => {
                t += 1;
                m.matches(&msg)
            }
            (F, Ok(m)) => {
                f += 1;
                !m.matches(&msg)
            }
            (E(offset, phrase), Err(err)) => {
                e += 1;
                err.offset == *offset && err.expected.contains(phrase) && err.expression == *expr
            }
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(m) => format!("parsed, matches = {}", m.matches(&msg)),
                Err(err) => format!("error: {err}"),
            };
            failures.push(format!("{expr:?}: {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(TABLE.len() >= 100);
    println!(
        "{} expressions: {t} match, {f} no match, {e} malformed",
        TABLE.len()
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let ok = format!("{}TRUE{}", "(".repeat(64), ")".repeat(64));
    assert!(Matcher::parse(&ok).unwrap().matches(&test_message()));
    let deep = format!("{}TRUE{}", "(".repeat(65), ")".repeat(65));
    let err = Matcher::parse(&deep).unwrap_err();
    assert_eq!(err.offset, 64);
    assert!(err.expected.contains("nested"), "{err}");
    let absurd = "(".repeat(100_000);
    assert!(Matcher::parse(&absurd).is_err());
}

#[test]
fn long_flat_chains_evaluate_without_deep_recursion() {
    let expr = vec!["Type == 'x'"; 20_000].join(" || ") + " || Type == 'TEST'";
    assert!(Matcher::parse(&expr).unwrap().matches(&test_message()));
}

#[test]
fn unset_headers_read_as_heka_defaults() {
    let empty = Message::default();
    for (expr, want) in [
        ("Severity == 7", true), // proto default
        ("Pid == 0", true),
        ("Timestamp == 0", true),
        ("Type == ''", true),
        ("Uuid == ''", true), // not 16 bytes: renders as ""
        ("Fields[x] == NIL", true),
    ] {
        assert_eq!(
            Matcher::parse(expr).unwrap().matches(&empty),
            want,
            "{expr}"
        );
    }
}

#[test]
fn error_message_reads_well() {
    let err = Matcher::parse("Type =! 'x'").unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected '==' or '=~' at offset 5, found '=' followed by '!', in message_matcher \"Type =! 'x'\""
    );
    let err: heka_message::MatcherError = "Severity".parse::<Matcher>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("expected a relational operator"),
        "{err}"
    );
}
