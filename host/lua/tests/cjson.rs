//! cjson's lua-cjson settings, per sandbox: sparse arrays, depth limits, number
//! precision, invalid numbers, keep_buffer; `cjson.null` both ways.

mod common;

use common::*;
use heka_pipeline::Filter;

/// Runs `body` at load time; `out` (a Lua table of strings) is injected joined by "|".
fn run(body: &str) -> String {
    let scripts = Scripts::new();
    let mut f = scripts.filter(&format!(
        "require \"cjson\"\nlocal out = {{}}\nlocal function put(...) for i = 1, select(\"#\", ...) do out[#out + 1] = tostring((select(i, ...))) end end\n{body}\nfunction process_message() inject_payload(\"txt\", \"\", table.concat(out, \"|\")) return 0 end"
    ));
    let mut ctx = ctx();
    f.process_message(&payload_message("x"), &mut ctx)
        .expect("process");
    String::from_utf8_lossy(ctx.take_injected()[0].payload()).into_owned()
}

#[test]
fn sparse_arrays_refused_or_converted() {
    assert_eq!(
        run(r#"
            put(cjson.encode_sparse_array())
            put(pcall(cjson.encode, {[20] = 1}))
            put(cjson.encode({[1] = 1, [3] = 3}))
            put(cjson.encode_sparse_array(true))
            put(cjson.encode({[20] = 1}))
            put(cjson.encode_sparse_array(false, 0))
            put(cjson.encode({[20] = "x"}):sub(1, 12))
        "#),
        "false|2|10|false|Cannot serialise table: excessively sparse array|[1,null,3]\
         |true|2|10|{\"20\":1}|false|0|10|[null,null,n"
    );
}

#[test]
fn depth_precision_and_invalid_numbers() {
    assert_eq!(
        run(r#"
            put(cjson.encode_max_depth(), cjson.decode_max_depth())
            put(cjson.encode_max_depth(2))
            put(pcall(cjson.encode, {{{1}}}))
            put(cjson.encode({{1}}))
            put(cjson.decode_max_depth(1))
            put(pcall(cjson.decode, "[[1]]"))
            put(cjson.encode_number_precision(3), cjson.encode(1/3))
            put(pcall(cjson.encode_number_precision, 15))
            put(cjson.encode_invalid_numbers(), pcall(cjson.encode, 1/0))
            put(cjson.encode_invalid_numbers(true), cjson.encode({1/0, -1/0}))
            put(cjson.encode_invalid_numbers("null"), cjson.encode({1/0}))
            put(cjson.decode_invalid_numbers(), cjson.decode("[-Infinity, 0x10, 1e2]")[1])
            put(cjson.decode('[0x10]')[1])
            put(cjson.decode_invalid_numbers(false), pcall(cjson.decode, "[0x10]"))
            put(pcall(cjson.decode, "[01]"))
            put(cjson.encode_keep_buffer(), cjson.encode_keep_buffer(false))
        "#),
        "200|200|2|false|Cannot serialise, excessive nesting (3)|[[1]]|1\
         |false|Found too many nested data structures (2) at character 2\
         |3|0.333|false|bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)\
         |false|false|Cannot serialise number: must not be NaN or Inf\
         |true|[inf,-inf]|null|[null]|true|-inf|16\
         |false|false|Expected comma or array end but found 'x' at character 3\
         |false|Expected value but found '0' at character 2|true|false"
    );
}

#[test]
fn null_both_ways() {
    assert_eq!(
        run(r#"
            put(cjson.encode({a = cjson.null}), cjson.encode({cjson.null, 1}))
            put(cjson.decode('{"a":null}').a)
            put(cjson.decode_null(true))
            put(cjson.decode('{"a":null}').a == cjson.null)
        "#),
        "{\"a\":null}|[null,1]|nil|true|true"
    );
}
