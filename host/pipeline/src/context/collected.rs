//! [`InputContext::collecting`]: an input's context outside any pipeline, for testing
//! inputs, and [`Collected`], what it routed.

use std::sync::Arc;

use crate::pack::Pack;
use crate::router::{Route, Router};
use crate::settings::{InputOptions, Settings};
use crate::stop::StopSignal;

use super::InputContext;

impl InputContext {
    /// A context outside any pipeline, for testing inputs: everything delivered is
    /// sent (as routed packs, acks included) to the returned receiver. Stop it with
    /// `ctx.stop.raise()`.
    pub fn collecting(
        name: &str,
        settings: Settings,
        options: InputOptions,
    ) -> (InputContext, Collected) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let route = Route {
            name: Arc::from("collector"),
            matcher: None,
            signer: None,
            tx,
            pending: None,
            registered: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        let rx = Collected {
            rx,
            buf: Default::default(),
        };
        let hostname = options
            .hostname
            .clone()
            .unwrap_or_else(|| settings.hostname.clone());
        let registry = Arc::new(crate::stats::Registry::new());
        let ctx = InputContext {
            name: name.to_owned(),
            hostname,
            stop: StopSignal::new(),
            router: Arc::new(Router::new(vec![route], StopSignal::new())),
            settings: Arc::new(settings),
            options,
            stats: registry.plugin(name, crate::stats::PluginKind::Input),
            registry,
        };
        (ctx, rx)
    }
}

/// What an [`InputContext::collecting`] context routed, one pack at a time (the
/// router's queues carry batches).
pub struct Collected {
    rx: crossbeam_channel::Receiver<crate::router::Batch>,
    buf: std::cell::RefCell<std::collections::VecDeque<Pack>>,
}

impl Collected {
    fn fill(&self) {
        let mut buf = self.buf.borrow_mut();
        for batch in self.rx.try_iter() {
            buf.extend(batch);
        }
    }

    /// The next pack, if one was routed.
    pub fn try_recv(&self) -> Result<Pack, crossbeam_channel::TryRecvError> {
        self.fill();
        self.buf
            .borrow_mut()
            .pop_front()
            .ok_or(crossbeam_channel::TryRecvError::Empty)
    }

    /// The next pack, waiting up to `timeout` for one.
    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Pack, crossbeam_channel::RecvTimeoutError> {
        if let Ok(pack) = self.try_recv() {
            return Ok(pack);
        }
        let batch = self.rx.recv_timeout(timeout)?;
        self.buf.borrow_mut().extend(batch);
        self.try_recv()
            .map_err(|_| crossbeam_channel::RecvTimeoutError::Timeout)
    }

    /// Every pack routed so far.
    pub fn try_iter(&self) -> impl Iterator<Item = Pack> + '_ {
        std::iter::from_fn(|| self.try_recv().ok())
    }

    /// How many packs are waiting.
    pub fn len(&self) -> usize {
        self.fill();
        self.buf.borrow().len()
    }

    /// Whether no pack is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
