//! NatsOutput against a real nats-server (JetStream, loopback): pipelined publishes
//! acknowledged one outcome per delivery, batches that read back as the payloads in
//! order, the dedup id of a message sent again, subjects from a field, config checks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use heka_e2e::nats::{Nats, ensure_nats_server};
use heka_message::{Message, Value};
use heka_pipeline::{Delivery, Outcomes, PipelinedOutput, Ticket};

use super::{NatsOutput, NatsOutputConfig, Settings};
use crate::plugins::nats::{ConnectionConfig, runtime, split_keys};

fn settings(text: &str) -> Result<Settings, (&'static str, String)> {
    let table: toml::Table = toml::from_str(text).unwrap();
    let (conn, own) = split_keys(&table);
    let conn: ConnectionConfig = crate::config::from_table(&conn).unwrap();
    let own: NatsOutputConfig = crate::config::from_table(&own).unwrap();
    own.settings(conn.settings()?)
}

fn delivery(i: u64, msg: Message) -> Delivery {
    Delivery {
        ticket: Ticket(i),
        payload: Bytes::from(format!("record {i};")),
        msg: Arc::new(msg),
    }
}

fn message(i: u64) -> Message {
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&i.to_be_bytes());
    Message {
        uuid: uuid.to_vec(),
        r#type: Some(if i.is_multiple_of(2) { "even" } else { "odd.x" }.into()),
        ..Default::default()
    }
}

/// Every message of stream HEKA: (subject, msg id, payload); none before it exists.
fn read_stream(port: u16) -> Vec<(String, String, Vec<u8>)> {
    runtime().unwrap().block_on(async {
        let client = async_nats::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        // Not there yet: nothing was published (the output creates it first).
        let Ok(mut stream) = js.get_stream("HEKA").await else {
            return Vec::new();
        };
        let count = stream.info().await.unwrap().state.messages;
        let mut out = Vec::new();
        for seq in 1..=count {
            let m = stream.get_raw_message(seq).await.unwrap();
            let id = m
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.to_string())
                .unwrap_or_default();
            out.push((m.subject.to_string(), id, m.payload.to_vec()));
        }
        out
    })
}

/// A NatsOutput and the outcomes it reports (one channel, as the runner has).
struct Publisher {
    out: NatsOutput,
    outcomes: Outcomes,
    rx: crossbeam_channel::Receiver<heka_pipeline::Outcome>,
}

impl Publisher {
    fn new(text: &str) -> Publisher {
        let (outcomes, rx) = Outcomes::channel();
        Publisher {
            out: NatsOutput::new("out", settings(text).unwrap()),
            outcomes,
            rx,
        }
    }

    /// Submits every delivery as one burst, as the runner does with what is queued,
    /// and expects each to be acknowledged.
    fn publish_all(&mut self, deliveries: Vec<Delivery>) {
        let n = deliveries.len();
        for d in deliveries {
            self.out.submit(d, &self.outcomes).unwrap();
        }
        self.out.end_burst(&self.outcomes).unwrap();
        for _ in 0..n {
            let o = self
                .rx
                .recv_timeout(Duration::from_secs(20))
                .expect("an outcome");
            assert_eq!(o.result, Ok(()), "ticket {:?}", o.ticket);
        }
    }
}

#[test]
fn publishes_are_acknowledged_and_batched_in_order() {
    if !ensure_nats_server() {
        return;
    }
    let nats = Nats::single();
    let port = nats.nodes[0].client_port;
    let mut p = Publisher::new(&format!(
        "servers = [\"nats://127.0.0.1:{port}\"]\nsubject = \"heka.logs\"\ncreate_stream = true\nmax_batch = 7\n"
    ));
    p.publish_all((0..500).map(|i| delivery(i, message(i))).collect());
    let stored = read_stream(port);
    let all: Vec<u8> = stored.iter().flat_map(|(_, _, p)| p.clone()).collect();
    let expected: String = (0..500).map(|i| format!("record {i};")).collect();
    assert_eq!(String::from_utf8(all).unwrap(), expected);
    assert!(
        stored
            .iter()
            .all(|(s, _, p)| s == "heka.logs" && !p.is_empty())
    );
    // A burst is packed into full NATS messages (7 each, the last one 3).
    assert_eq!(stored.len(), 500usize.div_ceil(7), "NATS messages");
    for (_, id, payload) in &stored {
        let records = payload.iter().filter(|&&b| b == b';').count();
        assert!(records <= 7);
        if records > 1 {
            assert!(id.starts_with(&format!("{records}-")), "{id}");
        }
    }
}

#[test]
fn a_message_sent_again_is_stored_once() {
    if !ensure_nats_server() {
        return;
    }
    let nats = Nats::single();
    let port = nats.nodes[0].client_port;
    let mut p = Publisher::new(&format!(
        "servers = [\"nats://127.0.0.1:{port}\"]\nsubject = \"heka.logs\"\ncreate_stream = true\nmax_batch = 1\n"
    ));
    p.publish_all((0..10).map(|i| delivery(i, message(i))).collect());
    // The same messages again (a retry after a lost PubAck, a replayed buffer).
    p.publish_all((0..10).map(|i| delivery(i, message(i))).collect());
    let stored = read_stream(port);
    assert_eq!(stored.len(), 10);
    assert_eq!(stored[0].1, "00000000-0000-0000-0000-000000000000");
    assert_eq!(stored[1].1, "00000000-0000-0001-0000-000000000000");
}

#[test]
fn the_subject_can_come_from_a_field() {
    if !ensure_nats_server() {
        return;
    }
    let nats = Nats::single();
    let port = nats.nodes[0].client_port;
    let text = format!(
        "servers = [\"nats://127.0.0.1:{port}\"]\nsubject = \"heka\"\nsubject_field = \"Type\"\ncreate_stream = true\n"
    );
    let mut p = Publisher::new(&text);
    let mut tagged = message(10);
    tagged.add_field("team", Value::String(b"a b".to_vec()), "");
    p.publish_all((0..4).map(|i| delivery(i, message(i))).collect());
    let subjects: Vec<String> = read_stream(port).into_iter().map(|(s, _, _)| s).collect();
    assert!(
        subjects
            .iter()
            .all(|s| s == "heka.even" || s == "heka.odd_x"),
        "{subjects:?}"
    );
    assert!(subjects.contains(&"heka.even".to_owned()));
    let by_field = settings("subject = \"x\"\nsubject_field = \"Fields[team]\"").unwrap();
    assert_eq!(by_field.subject_of(&tagged), "x.a_b");
    assert_eq!(by_field.subject_of(&message(1)), "x._");
}

#[test]
fn a_server_that_is_down_makes_retries() {
    let port = heka_e2e::free_port();
    let text = format!("servers = [\"nats://127.0.0.1:{port}\"]\nack_timeout = \"1s\"\n");
    let mut out = NatsOutput::new("out", settings(&text).unwrap());
    let (outcomes, rx) = Outcomes::channel();
    out.submit(delivery(1, message(1)), &outcomes).unwrap();
    out.end_burst(&outcomes).unwrap();
    let o = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        matches!(o.result, Err(heka_pipeline::OutputError::Retry { .. })),
        "{o:?}"
    );
}

#[test]
fn keys_are_checked_and_named() {
    let key = |text: &str| settings(text).unwrap_err().0;
    assert_eq!(key("subject = \"a.*\""), "subject");
    assert_eq!(key("subject = \"\""), "subject");
    assert_eq!(key("subject_field = \"Payload\""), "subject_field");
    assert_eq!(key("stream = \"a.b\""), "stream");
    assert_eq!(key("replicas = 0"), "replicas");
    assert_eq!(key("max_in_flight = 0"), "max_in_flight");
    assert_eq!(key("max_batch = 0"), "max_batch");
    assert_eq!(key("max_batch_bytes = 0"), "max_batch_bytes");
    assert_eq!(key("ack_timeout = \"0s\""), "ack_timeout");
    assert_eq!(key("servers = []"), "servers");
    assert!(settings("").is_ok());
}

#[test]
fn a_bad_key_names_file_section_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hekad.toml");
    std::fs::write(
        &path,
        "[ToNats]\ntype = \"NatsOutput\"\nmessage_matcher = \"TRUE\"\nmax_batch = 0\n",
    )
    .unwrap();
    let Err(errors) = crate::assemble::load_and_assemble_with_env(&path, &|_| None) else {
        panic!("max_batch = 0 accepted");
    };
    let err = errors
        .0
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        err.contains("hekad.toml") && err.contains("ToNats") && err.contains("max_batch"),
        "{err}"
    );
}

/// Routes the messages it is given, then waits to be stopped.
struct Given(Vec<Message>);
impl heka_pipeline::Input for Given {
    fn run(&mut self, ctx: &mut heka_pipeline::InputContext) -> heka_pipeline::PluginResult {
        for msg in self.0.drain(..) {
            ctx.deliver(msg, None, None, None)?;
        }
        let _ = ctx.stop.receiver().recv();
        Ok(())
    }
}

/// The records of every NATS message stored, in order.
fn stored_records(port: u16) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    for (_, _, payload) in read_stream(port) {
        let mut rest = payload.as_slice();
        while let heka_message::Unframed::Message { consumed, .. } =
            heka_message::unframe(rest, heka_message::DEFAULT_MAX_MESSAGE_SIZE)
        {
            records.push(rest[..consumed].to_vec());
            rest = &rest[consumed..];
        }
        assert!(rest.is_empty(), "a NATS message ends in a torn record");
    }
    records
}

/// A disk-buffered NatsOutput with the ProtobufEncoder publishes its queue's records
/// as they are (`heka_pipeline`'s `buffer_pass_through`): each stored record must be
/// byte for byte what the ProtobufEncoder and the framing make of its message.
#[test]
fn a_buffered_output_publishes_what_the_protobuf_encoder_makes_of_each_message() {
    use crate::plugins::encoders::protobuf::ProtobufEncoder;
    use heka_pipeline::{Encoder, InputOptions, PipelineBuilder, SplitOptions};
    if !ensure_nats_server() {
        return;
    }
    let nats = Nats::single();
    let port = nats.nodes[0].client_port;
    let dir = tempfile::tempdir().unwrap();
    let messages: Vec<Message> = (0..300)
        .map(|i| {
            let mut m = message(i);
            m.payload = Some(format!("line {i}").into());
            m.add_field("n", Value::Integer(i as i64), "");
            m
        })
        .collect();
    let settings = settings(&format!(
        "servers = [\"nats://127.0.0.1:{port}\"]\nsubject = \"heka.logs\"\ncreate_stream = true\nmax_batch = 16\n"
    ))
    .unwrap();
    let mut options =
        heka_pipeline::OutputOptions::new(heka_message::Matcher::parse("TRUE").unwrap());
    options.encoder = Some(Arc::new(|| {
        Ok(Box::new(ProtobufEncoder) as Box<dyn Encoder>)
    }));
    options.use_framing = true;
    options.buffering = Some(heka_pipeline::BufferOptions::new(dir.path()));
    let mut b = PipelineBuilder::new(heka_pipeline::Settings::default());
    b.add_input(
        "in",
        Box::new(Given(messages)),
        InputOptions::new(
            Arc::new(|| Box::new(heka_pipeline::splitters::NullSplitter)),
            SplitOptions::default(),
        ),
    )
    .add_output("out", Box::new(NatsOutput::new("out", settings)), options);
    let pipeline = b.start().unwrap();
    let records = heka_e2e::wait_for(Duration::from_secs(30), || {
        let records = stored_records(port);
        (records.len() >= 300).then_some(records)
    })
    .expect("300 records stored within 30 s");
    pipeline.shutdown();
    pipeline.wait();
    assert_eq!(records.len(), 300);
    for (i, record) in records.iter().enumerate() {
        let heka_message::Unframed::Message { message, .. } =
            heka_message::unframe(record, heka_message::DEFAULT_MAX_MESSAGE_SIZE)
        else {
            panic!("record {i} is not a frame");
        };
        let msg = heka_message::decode_message(message).unwrap();
        assert_eq!(msg.payload(), format!("line {i}").as_bytes());
        let mut encoded = Vec::new();
        ProtobufEncoder.encode(&msg, &mut encoded).unwrap();
        let mut framed = Vec::new();
        heka_message::frame_message(
            &encoded,
            heka_message::DEFAULT_MAX_MESSAGE_SIZE,
            &mut framed,
        )
        .unwrap();
        assert_eq!(record, &framed, "record {i}");
    }
}
