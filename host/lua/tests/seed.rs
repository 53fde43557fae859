//! The seed post's two Lua scripts, verbatim from `config/lua/`, run through
//! LuaFilter and LuaEncoder: the aggregator's timer output fed to the Slack encoder
//! gives the Slack JSON body.

mod common;

use common::*;
use heka_lua::LuaConfig;
use heka_message::FieldValue;
use heka_pipeline::{Encoder, Filter, Pack};

#[test]
fn aggregator_and_slack_encoder_produce_the_slack_body() -> anyhow::Result<()> {
    let lua_dir = repo_root().join("config/lua");
    let mut agg = heka_lua::load_filter(
        &lua_dir.join("log_aggregator.lua"),
        LuaConfig::new("ExampleLogAggregator"),
    )?;
    let mut enc = heka_lua::load_encoder(
        &lua_dir.join("slack_encoder.lua"),
        LuaConfig::new("SlackEncoder"),
    )?;

    let mut ctx = common::ctx();
    let packs: Vec<Pack> = ["disk \"full\" on /var\n", "second line\ttab\n"]
        .iter()
        .map(|p| Pack::new(payload_message(p), None))
        .collect();
    agg.process_batch(&packs, &mut ctx)?;
    assert!(ctx.take_injected().is_empty(), "nothing before the tick");
    ctx.begin_timer();
    agg.timer_event(1_700_000_000_000_000_000, &mut ctx)?;
    let injected = ctx.take_injected();
    assert_eq!(injected.len(), 1);
    let out = &injected[0];
    assert_eq!(out.type_(), "heka.sandbox-output");
    assert_eq!(out.logger(), "TestFilter");
    assert_eq!(out.hostname(), "hekad-host");
    assert_eq!(out.payload(), b"disk \"full\" on /var\nsecond line\ttab\n");
    assert_eq!(
        out.field_value("payload_type", 0, 0),
        Some(FieldValue::String(b"txt"))
    );
    assert_eq!(
        out.field("payload_type", 0).map(|f| f.representation()),
        Some("file-extension")
    );
    assert_eq!(
        out.field_value("payload_name", 0, 0),
        Some(FieldValue::String(b""))
    );

    // A second tick with an empty buffer injects nothing.
    ctx.begin_timer();
    agg.timer_event(1_700_000_001_000_000_000, &mut ctx)?;
    assert!(ctx.take_injected().is_empty());

    let mut body = Vec::new();
    enc.encode(out, &mut body)?;
    let body = String::from_utf8(body)?;
    // Byte for byte what Heka's lua-cjson under Lua 5.1 writes: "/" escaped, keys in
    // Lua 5.1's table order for these four keys.
    assert_eq!(
        body,
        r##"{"username":"something you like","text":"disk \"full\" on \/var\nsecond line\ttab\n","icon_emoji":":heavy_exclamation_mark:","channel":"#something"}"##
    );
    // The same document as the wasm slack-encoder's (which orders keys as written).
    let wasm_body = r##"{"icon_emoji":":heavy_exclamation_mark:","username":"something you like","text":"disk \"full\" on /var\nsecond line\ttab\n","channel":"#something"}"##;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body)?,
        serde_json::from_str::<serde_json::Value>(wasm_body)?
    );
    Ok(())
}
