//! NatsOutput → nats-server → NatsInput through a server that wants a user and a
//! password over TLS (a CA and a server certificate made by the test with
//! `heka_e2e::pki`, none checked in; with a `tls` block the server takes TLS clients
//! only), and what refused credentials look like: an
//! error in the log naming the plugin's section, not a client retrying in silence.

use std::path::{Path, PathBuf};
use std::time::Duration;

use heka_e2e::nats::{Nats, ensure_nats_server};
use heka_e2e::{Daemon, wait_for, write};

const USER: &str = "heka";
const PASSWORD: &str = "s3cret-pw";

/// One node requiring `USER`/`PASSWORD` and TLS; the CA file to trust.
fn server() -> (Nats, PathBuf) {
    let mut ca = PathBuf::new();
    let nats = Nats::single_with(|dir| {
        heka_e2e::pki::write_pki(dir);
        ca = dir.join("ca.pem");
        let file = |name: &str| dir.join(name).display().to_string();
        format!(
            "authorization {{ user: {USER}, password: \"{PASSWORD}\" }}\n\
             tls {{ cert_file: {:?}, key_file: {:?} }}\n",
            file("server.pem"),
            file("server.key")
        )
    });
    (nats, ca)
}

/// The connection keys and `[<section>.tls]` of a plugin (TOML: the table last).
fn connection(section: &str, port: u16, password: &str, ca: &Path) -> String {
    format!(
        "servers = [\"nats://127.0.0.1:{port}\"]\nuser = \"{USER}\"\npassword = \"{password}\"\n\
         use_tls = true\n\n[{section}.tls]\nroot_cafile = {:?}\n",
        ca.display().to_string()
    )
}

fn agent(dir: &Path, port: u16, password: &str, ca: &Path) -> Daemon {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let text = format!(
        "[hekad]\nbase_dir = {:?}\n\n[Logs]\ntype = \"LogstreamerInput\"\nlog_directory = {:?}\n\
         file_match = 'app\\.log'\n\n[ToNats]\ntype = \"NatsOutput\"\nmessage_matcher = \"Logger == 'Logs'\"\n\
         subject = \"heka.logs\"\nstream = \"HEKA\"\ncreate_stream = true\n{}",
        dir.join("base").display().to_string(),
        logs.display().to_string(),
        connection("ToNats", port, password, ca)
    );
    Daemon::start(&write(dir, "hekad.toml", &text), dir)
}

fn aggregator(dir: &Path, port: u16, password: &str, ca: &Path, out: &Path) -> Daemon {
    let text = format!(
        "[hekad]\nbase_dir = {:?}\n\n[PayloadEncoder]\nappend_newlines = false\n\n[Out]\n\
         type = \"FileOutput\"\nmessage_matcher = \"Logger == 'Logs'\"\npath = {:?}\n\
         encoder = \"PayloadEncoder\"\nflush_interval = 0\n\n[FromNats]\ntype = \"NatsInput\"\n\
         stream = \"HEKA\"\ndurable = \"aggregators\"\n{}",
        dir.join("base").display().to_string(),
        out.display().to_string(),
        connection("FromNats", port, password, ca)
    );
    Daemon::start(&write(dir, "hekad.toml", &text), dir)
}

fn lines(n: u64) -> String {
    (1..=n).map(|i| format!("tls line {i:05}\n")).collect()
}

#[test]
fn nats_output_to_input_with_a_password_over_tls() {
    if !ensure_nats_server() {
        return;
    }
    let (nats, ca) = server();
    let port = nats.nodes[0].client_port;
    let tmp = tempfile::tempdir().unwrap();
    let (agent_dir, agg_dir) = (tmp.path().join("agent"), tmp.path().join("agg"));
    std::fs::create_dir_all(&agg_dir).unwrap();
    let mut agent = agent(&agent_dir, port, PASSWORD, &ca);
    write(&agent_dir.join("logs"), "app.log", &lines(200));
    let out = agg_dir.join("out.log");
    let mut agg = aggregator(&agg_dir, port, PASSWORD, &ca, &out);
    let arrived = wait_for(Duration::from_secs(60), || {
        let text = std::fs::read_to_string(&out).ok()?;
        (text.lines().count() >= 200).then_some(text)
    });
    let Some(text) = arrived else {
        panic!(
            "lines missing\nagent:\n{}\naggregator:\n{}\nnats:\n{}",
            agent.log_text(),
            agg.log_text(),
            nats.log(0)
        );
    };
    let mut got: Vec<&str> = text.lines().collect();
    got.sort_unstable();
    assert_eq!(got.join("\n") + "\n", lines(200), "every line once");
    agent.stop_clean();
    agg.stop_clean();
}

#[test]
fn refused_credentials_are_an_error_naming_the_plugin() {
    if !ensure_nats_server() {
        return;
    }
    let (nats, ca) = server();
    let port = nats.nodes[0].client_port;
    let tmp = tempfile::tempdir().unwrap();
    let (agent_dir, agg_dir) = (tmp.path().join("agent"), tmp.path().join("agg"));
    std::fs::create_dir_all(&agg_dir).unwrap();
    let agent = agent(&agent_dir, port, "wrong", &ca);
    write(&agent_dir.join("logs"), "app.log", &lines(3));
    let agg = aggregator(&agg_dir, port, "wrong", &ca, &agg_dir.join("out.log"));
    // One log line names the section and says what is wrong.
    let named = |daemon: &Daemon, section: &str| {
        wait_for(Duration::from_secs(30), || {
            let log = daemon.log_text();
            log.lines()
                .any(|l| l.contains(section) && l.contains("refused the credentials"))
                .then_some(())
        })
        .is_some()
    };
    assert!(named(&agent, "ToNats"), "agent log:\n{}", agent.log_text());
    assert!(
        named(&agg, "FromNats"),
        "aggregator log:\n{}",
        agg.log_text()
    );
}
