//! Tests of the sandbox sections, wasm and Lua: building from config, the seed's
//! plugins in both engines agreeing, `preserve_data`, clear errors.

use heka_pipeline::{Filter, FilterContext, Pack, Settings};

use super::*;
use crate::config;

/// Builds section `name` of a config whose `share_dir` holds the built guests.
fn build_section(body: &str, name: &str) -> Result<Box<dyn Filter>, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hekad.toml");
    let text = format!(
        "[hekad]\nbase_dir = {:?}\nshare_dir = {:?}\n\n{body}",
        dir.path().display().to_string(),
        heka_guest_build::PLUGINS_DIR
    );
    std::fs::write(&file, text).unwrap();
    let cfg = config::load(&file).unwrap_or_else(|e| panic!("config: {e}"));
    let section = cfg.section(name).expect("section");
    super::filter(&BuildContext::new(&cfg, section)).map(|b| b.filter)
}

#[test]
fn wasm_filter_builds_with_config_table() {
    let f = build_section(
        "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"log-aggregator.wasm\"\nmemory_limit = 16777216\n[Agg.config]\nseparator = \"|\"\nmax_lines = 10\n",
        "Agg",
    );
    assert!(f.is_ok(), "{:?}", f.err());
}

#[test]
fn preserve_data_keeps_a_wasm_filters_state_under_base_dir() {
    use heka_pipeline::{FilterContext, Pack, Settings};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hekad.toml");
    std::fs::write(
            &file,
            format!(
                "[hekad]\nbase_dir = {:?}\nshare_dir = {:?}\n\n[Count]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"stateful.wasm\"\npreserve_data = true\n",
                dir.path().display().to_string(),
                heka_guest_build::PLUGINS_DIR
            ),
        )
        .unwrap();
    let cfg = config::load(&file).unwrap_or_else(|e| panic!("config: {e}"));
    let section = cfg.section("Count").expect("section");
    let settings = Settings::default();
    let msg = || Pack::new(heka_message::Message::default(), None);
    let mut f = super::filter(&BuildContext::new(&cfg, section))
        .unwrap()
        .filter;
    let mut ctx = FilterContext::standalone("Count", &settings, None);
    f.process_batch(&[msg(), msg()], &mut ctx).unwrap();
    f.shutdown();
    let data = dir.path().join("sandbox_preservation/Count.data");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "2");
    let mut f = super::filter(&BuildContext::new(&cfg, section))
        .unwrap()
        .filter;
    ctx.begin_timer();
    f.timer_event(0, &mut ctx).unwrap();
    assert_eq!(ctx.take_injected()[0].payload(), b"count=2");
}

/// A reload replacing a sandbox filter hands its state to the new instance in memory,
/// without `preserve_data`: the stateful guest counts on from where the old one was.
#[test]
fn a_replaced_wasm_filter_takes_over_its_predecessors_state() {
    let section = "[Count]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"stateful.wasm\"\n";
    let settings = Settings::default();
    let msg = || Pack::new(heka_message::Message::default(), None);
    let mut old = build_section(section, "Count").unwrap();
    let mut ctx = FilterContext::standalone("Count", &settings, None);
    old.process_batch(&[msg(), msg(), msg()], &mut ctx).unwrap();
    let state = old.hand_over().expect("state handed over");
    let mut new = build_section(section, "Count").unwrap();
    new.take_over(&state).unwrap();
    new.process_batch(&[msg()], &mut ctx).unwrap();
    ctx.begin_timer();
    new.timer_event(0, &mut ctx).unwrap();
    assert_eq!(ctx.take_injected()[0].payload(), b"count=4");
}

#[test]
fn lua_and_unknown_keys_are_clear_errors() {
    let err = build_section(
        "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"x.lua\"\n",
        "Agg",
    )
    .err()
    .expect("lua refused");
    // With the `lua` feature the script is looked for (and missing here);
    // without it the feature is named. Either way the file is.
    assert!(err.to_string().contains("x.lua"), "{err}");
    let err = build_section(
            "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"log-aggregator.wasm\"\nmemroy_limit = 1\n",
            "Agg",
        )
        .err()
        .expect("typo refused");
    assert!(err.to_string().contains("memroy_limit"), "{err}");
}

#[cfg(feature = "lua")]
mod lua {
    use std::path::Path;

    use heka_pipeline::EncoderFactory;

    use super::*;

    /// Loads `body` as a config whose `share_dir` is the repository's `config/`.
    fn with_section<T>(body: &str, name: &str, f: impl FnOnce(&BuildContext) -> T) -> T {
        let share = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        with_section_in(&share, body, name, f)
    }

    fn with_section_in<T>(
        share: &Path,
        body: &str,
        name: &str,
        f: impl FnOnce(&BuildContext) -> T,
    ) -> T {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("hekad.toml");
        let text = format!(
            "[hekad]\nbase_dir = {:?}\nshare_dir = {:?}\n\n{body}",
            dir.path().display().to_string(),
            share.display().to_string()
        );
        std::fs::write(&file, text).expect("write config");
        let cfg = config::load(&file).unwrap_or_else(|e| panic!("config: {e}"));
        let section = cfg.section(name).expect("section");
        f(&BuildContext::new(&cfg, section))
    }

    #[test]
    fn seed_scripts_build_and_produce_the_slack_body() {
        let mut filter = with_section(
            "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"lua/log_aggregator.lua\"\nticker_interval = 1\n",
            "Agg",
            super::filter,
        )
        .expect("filter builds")
        .filter;
        let encoder = with_section(
            "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"lua/slack_encoder.lua\"\n",
            "Slack",
            super::encoder,
        )
        .expect("encoder builds");
        let settings = Settings::default();
        let mut ctx = FilterContext::standalone("Agg", &settings, None);
        let msg = heka_message::Message {
            uuid: vec![1; 16],
            payload: Some("disk full\n".into()),
            ..Default::default()
        };
        filter
            .process_batch(&[Pack::new(msg, None)], &mut ctx)
            .expect("process");
        ctx.begin_timer();
        filter.timer_event(0, &mut ctx).expect("timer");
        let out = ctx.take_injected();
        let mut body = Vec::new();
        encoder()
            .expect("instance")
            .encode(&out[0], &mut body)
            .expect("encode");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["text"], "disk full\n");
        assert_eq!(json["channel"], "#something");
    }

    #[test]
    fn lua_errors_name_the_section_and_script() {
        let err = with_section(
            "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"missing.lua\"\n",
            "Agg",
            super::filter,
        )
        .err()
        .expect("missing script refused");
        assert!(err.to_string().contains("missing.lua"), "{err}");
    }

    /// The seed pipeline's two stages, Lua scripts vs wasm guests, on the same input:
    /// the aggregated payloads are equal and so are the Slack JSON documents (the Lua
    /// one in lua-cjson's form: `\/` escapes, Lua's key order).
    #[test]
    fn lua_and_wasm_seed_plugins_agree() {
        let wasm_share = Path::new(heka_guest_build::PLUGINS_DIR);
        let lines = ["disk \"full\" on /var\n", "é ✓ \u{1}\n", "third\ttab\n"];
        let aggregate = |mut filter: Box<dyn heka_pipeline::Filter>| {
            let settings = Settings::default();
            let mut ctx = FilterContext::standalone("Agg", &settings, None);
            let packs: Vec<Pack> = lines
                .iter()
                .map(|l| {
                    Pack::new(
                        heka_message::Message {
                            uuid: vec![1; 16],
                            logger: Some("ExampleLog".into()),
                            payload: Some((*l).into()),
                            ..Default::default()
                        },
                        None,
                    )
                })
                .collect();
            filter.process_batch(&packs, &mut ctx).expect("process");
            ctx.begin_timer();
            filter.timer_event(0, &mut ctx).expect("timer");
            let mut out = ctx.take_injected();
            assert_eq!(out.len(), 1);
            out.remove(0)
        };
        let lua_msg = aggregate(
            with_section(
                "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"lua/log_aggregator.lua\"\n",
                "Agg",
                super::filter,
            )
            .expect("lua filter")
            .filter,
        );
        let wasm_msg = aggregate(
            with_section_in(
                wasm_share,
                "[Agg]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"log-aggregator.wasm\"\n",
                "Agg",
                super::filter,
            )
            .expect("wasm filter")
            .filter,
        );
        assert_eq!(lua_msg.payload(), wasm_msg.payload());
        assert_eq!(lua_msg.type_(), wasm_msg.type_());
        assert_eq!(lua_msg.fields, wasm_msg.fields);

        let encode = |factory: EncoderFactory| {
            let mut body = Vec::new();
            factory()
                .expect("instance")
                .encode(&lua_msg, &mut body)
                .expect("encode");
            body
        };
        let lua_body = encode(
            with_section(
                "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"lua/slack_encoder.lua\"\n",
                "Slack",
                super::encoder,
            )
            .expect("lua encoder"),
        );
        let wasm_body = encode(
            with_section_in(
                wasm_share,
                "[Slack]\ntype = \"SandboxEncoder\"\nfilename = \"slack-encoder.wasm\"\n",
                "Slack",
                super::encoder,
            )
            .expect("wasm encoder"),
        );
        let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).expect("json");
        assert_eq!(parse(&lua_body), parse(&wasm_body));
        assert!(String::from_utf8_lossy(&lua_body).contains("on \\/var"));
    }

    /// As the wasm test above: a replaced Lua filter takes over its globals, and a
    /// new script version's own initial values give way to them.
    #[test]
    fn a_replaced_lua_filter_takes_over_its_predecessors_globals() {
        let share = tempfile::tempdir().expect("tempdir");
        let script = |tag: &str| {
            format!(
                "count = 0\nfunction process_message() count = count + 1 return 0 end\nfunction timer_event(ns) inject_payload('txt', 'n', '{tag}' .. count) end\n"
            )
        };
        let build = |tag: &str| {
            std::fs::write(share.path().join("count.lua"), script(tag)).unwrap();
            with_section_in(
                share.path(),
                "[Count]\ntype = \"SandboxFilter\"\nmessage_matcher = \"TRUE\"\nfilename = \"count.lua\"\n",
                "Count",
                super::filter,
            )
            .expect("lua filter")
            .filter
        };
        let settings = heka_pipeline::Settings::default();
        let msg = || heka_pipeline::Pack::new(heka_message::Message::default(), None);
        let mut ctx = heka_pipeline::FilterContext::standalone("Count", &settings, None);
        let mut old = build("v1:");
        old.process_batch(&[msg(), msg()], &mut ctx).unwrap();
        let state = old.hand_over().expect("state handed over");
        let mut new = build("v2:");
        new.take_over(&state).unwrap();
        new.process_batch(&[msg()], &mut ctx).unwrap();
        ctx.begin_timer();
        new.timer_event(0, &mut ctx).unwrap();
        assert_eq!(ctx.take_injected()[0].payload(), b"v2:3");
    }
}
