//! nats-server (Debian package `nats-server`) for the NATS tests: one JetStream node,
//! or a cluster of three on loopback, each node started from a config file of its own
//! with fixed ports, so a node killed with SIGKILL can be started again on the same
//! ports and store directory.
//!
//! [`ensure_nats_server`] installs the package when missing; under `CI=true` a server
//! that is still missing fails the test (never a silent skip). Readiness is the
//! monitor's `/healthz` answering `{"status":"ok"}`, which it does only once
//! JetStream has a meta leader (so for a cluster, once the cluster formed).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, http_get, wait_for};

/// Installs nats-server when missing (`crate::ensure_debian_package`); under
/// `CI=true` a server that is still missing fails the test, elsewhere the caller
/// skips. Returns whether it is there.
pub fn ensure_nats_server() -> bool {
    crate::ensure_debian_package("nats-server", "nats-server")
}

/// One node: its ports, config file and process.
pub struct Node {
    pub name: String,
    pub client_port: u16,
    pub monitor_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Running nats-server nodes, killed when dropped.
pub struct Nats {
    pub nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

impl Nats {
    /// One JetStream node.
    pub fn single() -> Nats {
        Nats::start(1, "")
    }

    /// One JetStream node whose config also has `extra` (an `authorization` or a
    /// `tls` block); `extra` is given the nodes' directory, where the test may put
    /// files the block names.
    pub fn single_with(extra: impl FnOnce(&Path) -> String) -> Nats {
        let dir = tempfile::tempdir().expect("nats dir");
        let text = extra(dir.path());
        Nats::start_in(dir, 1, &text)
    }

    /// Three JetStream nodes in one cluster.
    pub fn cluster() -> Nats {
        Nats::start(3, "")
    }

    fn start(n: usize, extra: &str) -> Nats {
        Nats::start_in(tempfile::tempdir().expect("nats dir"), n, extra)
    }

    fn start_in(dir: tempfile::TempDir, n: usize, extra: &str) -> Nats {
        let cluster_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let routes: Vec<String> = cluster_ports
            .iter()
            .map(|p| format!("\"nats-route://127.0.0.1:{p}\""))
            .collect();
        let mut nodes = Vec::new();
        for (i, cluster_port) in cluster_ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let (client_port, monitor_port) = (free_port(), free_port());
            let store = dir.path().join(&name);
            let mut text = format!(
                "server_name: {name}\nlisten: 127.0.0.1:{client_port}\nhttp: 127.0.0.1:{monitor_port}\n\
                 jetstream {{ store_dir: {:?} }}\n",
                store.display().to_string()
            );
            text.push_str(extra);
            if n > 1 {
                text.push_str(&format!(
                    "cluster {{ name: heka, listen: 127.0.0.1:{cluster_port}, routes: [{}] }}\n",
                    routes.join(", ")
                ));
            }
            let config = dir.path().join(format!("{name}.conf"));
            std::fs::write(&config, text).expect("write nats config");
            let log = dir.path().join(format!("{name}.log"));
            nodes.push(Node {
                name,
                client_port,
                monitor_port,
                config,
                log,
                child: None,
            });
        }
        let mut nats = Nats { nodes, _dir: dir };
        for i in 0..n {
            nats.spawn(i);
        }
        for i in 0..n {
            nats.wait_healthy(i);
        }
        nats
    }

    /// Starts node `i` (again).
    pub fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("nats log");
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        node.child = Some(child);
    }

    /// Waits (up to 30 s) until node `i`'s `/healthz` is ok.
    pub fn wait_healthy(&self, i: usize) {
        let port = self.nodes[i].monitor_port;
        let ok = wait_for(Duration::from_secs(30), || {
            http_get(port, "/healthz")
                .filter(|body| body.contains("\"ok\""))
                .map(|_| ())
        });
        assert!(
            ok.is_some(),
            "nats node {} not healthy; log:\n{}",
            self.nodes[i].name,
            std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
        );
    }

    /// SIGKILLs node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every node's client URL, for a `servers` key.
    pub fn servers_toml(&self) -> String {
        let urls: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("\"nats://127.0.0.1:{}\"", n.client_port))
            .collect();
        format!("[{}]", urls.join(", "))
    }

    /// Stream `stream`'s `cluster` object as node `i` sees it (`/jsz`).
    fn stream_cluster(&self, i: usize, stream: &str) -> Option<serde_json::Value> {
        let node = &self.nodes[i];
        node.child.as_ref()?;
        let body = http_get(node.monitor_port, "/jsz?accounts=true&streams=true")?;
        let json = serde_json::from_str::<serde_json::Value>(&body).ok()?;
        json["account_details"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["stream_detail"].as_array().into_iter().flatten())
            .find(|s| s["name"] == stream)
            .map(|s| s["cluster"].clone())
    }

    /// The index of the node leading stream `stream`, asked of any running node.
    pub fn stream_leader(&self, stream: &str) -> Option<usize> {
        (0..self.nodes.len()).find_map(|i| {
            let cluster = self.stream_cluster(i, stream)?;
            let leader = cluster["leader"].as_str()?;
            self.nodes.iter().position(|n| n.name == leader)
        })
    }

    /// Whether stream `stream` has a leader and, as the leader sees it, every other
    /// node is a replica that is current (caught up). Only then may a 3-node R3
    /// stream lose a node again without losing its quorum.
    pub fn stream_current(&self, stream: &str) -> bool {
        let Some(leader) = self.stream_leader(stream) else {
            return false;
        };
        let Some(cluster) = self.stream_cluster(leader, stream) else {
            return false;
        };
        let replicas = cluster["replicas"].as_array().cloned().unwrap_or_default();
        cluster["leader"] == self.nodes[leader].name.as_str()
            && replicas.len() + 1 == self.nodes.len()
            && replicas.iter().all(|r| r["current"] == true)
    }

    /// Waits (up to `timeout`) until [`Nats::stream_current`]; whether it became so.
    pub fn wait_stream_current(&self, stream: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.stream_current(stream).then_some(())).is_some()
    }

    /// A node's log so far (for failure messages).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    /// The directory of the nodes' files.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}
