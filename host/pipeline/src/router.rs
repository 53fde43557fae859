//! The router: a table of (matcher, queue) routes, one per filter and output,
//! evaluated by whichever thread has a message to route (an input delivering, a filter
//! injecting). There is no router thread and no lock on the way: the table is built at
//! start and replaced whole by a reload (`crate::table`: each routing call uses one
//! table from start to end, and the reload can tell when the old one is out of use).
//!
//! Each matching plugin gets its own copy of the [`Pack`] (an `Arc` clone of the
//! message plus one more holder of each ack). Queues carry [`Batch`]es: a single
//! routed message is a batch of one (inline, no allocation), and an input that routes
//! a whole read chunk at once ([`Router::route_batch`]) sends each plugin one batch
//! of its matches. A queue of `plugin_chansize` batches then holds up to that many
//! times [`MAX_ROUTE_BATCH`] messages, and the threads on both sides of it meet once
//! per batch instead of once per message (on a 2-core machine the per-message
//! hand-off, with its wake-ups and waker locks, cost more than the work itself). Sends block only when *that* plugin's
//! queue is full, so a slow output holds up the others only once its own queue is
//! full (Heka's back-pressure, per plugin instead of per router). A blocked send gives
//! up when the routing abort signal is raised (shutdown deadline or second signal);
//! a send to a plugin that has stopped fails at once. Either way that copy's acks are
//! dropped, which marks its unit abandoned.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Select, TrySendError};
use smallvec::SmallVec;

use crate::pack::Pack;
use crate::stats::Registry;
use crate::stop::StopSignal;
pub(crate) use crate::table::Route;
use crate::table::TableCell;

pub(crate) use crate::pack::Batch;

/// The most packs [`Router::route_batch`] puts in one batch.
pub(crate) const MAX_ROUTE_BATCH: usize = 256;

/// The receiving end of a plugin queue, read one pack at a time: the batch received
/// last is kept here until its packs are taken. Runners `select!` on
/// [`Inbox::receiver`] and hand what it yields to [`Inbox::push`]; before waiting again
/// they must take every pack already here ([`Inbox::has_buffered`]).
pub(crate) struct Inbox {
    rx: crossbeam_channel::Receiver<Batch>,
    buf: std::collections::VecDeque<Pack>,
}

impl Inbox {
    pub(crate) fn new(rx: crossbeam_channel::Receiver<Batch>) -> Inbox {
        Inbox {
            rx,
            buf: std::collections::VecDeque::new(),
        }
    }

    /// The channel, for `select!`.
    pub(crate) fn receiver(&self) -> &crossbeam_channel::Receiver<Batch> {
        &self.rx
    }

    /// Keeps a batch `select!` received.
    pub(crate) fn push(&mut self, batch: Batch) {
        self.buf.extend(batch);
    }

    /// The next pack kept here, without looking at the channel.
    pub(crate) fn next_buffered(&mut self) -> Option<Pack> {
        self.buf.pop_front()
    }

    /// Whether packs are kept here.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next pack: kept here, or from the next queued batch.
    pub(crate) fn try_recv(&mut self) -> Option<Pack> {
        if self.buf.is_empty() {
            self.buf.extend(self.rx.try_recv().ok()?);
        }
        self.buf.pop_front()
    }

    /// Nothing here and nothing queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.rx.is_empty()
    }

    /// Drops (abandons) everything here and queued; returns how many packs.
    pub(crate) fn abandon_all(&mut self) -> usize {
        let mut n = self.buf.len();
        self.buf.clear();
        for batch in self.rx.try_iter() {
            n += batch.len();
        }
        n
    }
}

/// What happened to a routed pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Every matching plugin got its copy (or nothing matched and the acks are done).
    Delivered,
    /// At least one copy could not be handed over (plugin stopped, or routing aborted).
    Lost,
}

/// The routing table.
pub(crate) struct Router {
    table: TableCell,
    abort: StopSignal,
    /// Counts routed messages and holds the live-tail taps.
    registry: Arc<Registry>,
}

impl Router {
    pub(crate) fn new(routes: Vec<Route>, abort: StopSignal) -> Router {
        Router {
            table: TableCell::new(routes),
            abort,
            registry: Arc::new(Registry::new()),
        }
    }

    /// Reports into `registry` (routed-message count, live-tail taps).
    pub(crate) fn with_registry(mut self, registry: Arc<Registry>) -> Router {
        self.registry = registry;
        self
    }

    /// The live table (a reload swaps it).
    pub(crate) fn table(&self) -> &TableCell {
        &self.table
    }

    /// The signal that makes blocked sends give up.
    pub(crate) fn abort_signal(&self) -> &StopSignal {
        &self.abort
    }

    /// Sends a copy of `pack` to every filter and output whose matcher accepts it.
    /// The last match gets the pack itself, so the common single match clones nothing.
    pub(crate) fn route(&self, pack: Pack) -> Routed {
        self.registry.router_messages.inc();
        if self.registry.taps.any() {
            self.registry.taps.offer(&pack.msg);
        }
        let table = self.table.enter();
        let mut outcome = Routed::Delivered;
        let mut previous: Option<&Route> = None;
        // Only the routes that can match (the others' matchers would say no).
        for route in table.index.candidates(&pack.msg).map(|i| &table.routes[i]) {
            if route.accepts(&pack) {
                if let Some(prev) = previous
                    && self.send(prev, smallvec::smallvec![pack.clone()]) == Routed::Lost
                {
                    outcome = Routed::Lost;
                }
                previous = Some(route);
            }
        }
        match previous {
            Some(last) => {
                if self.send(last, smallvec::smallvec![pack]) == Routed::Lost {
                    outcome = Routed::Lost;
                }
            }
            // Heka recycles an unmatched pack: nothing will ever deliver it, on purpose.
            None => pack.done(),
        }
        outcome
    }

    /// Routes `packs` (emptied) as [`Router::route`] would one by one, but sends each
    /// plugin one batch of the packs it matches (in order), [`MAX_ROUTE_BATCH`] at most
    /// per batch.
    pub(crate) fn route_batch(&self, packs: &mut Vec<Pack>) -> Routed {
        self.registry.router_messages.add(packs.len() as u64);
        if self.registry.taps.any() {
            packs.iter().for_each(|p| self.registry.taps.offer(&p.msg));
        }
        let table = self.table.enter();
        let routes = &table.routes;
        let mut outcome = Routed::Delivered;
        // One batch per route (any number of routes: 100 filters keep batching).
        let mut batches: SmallVec<[Batch; 4]> = SmallVec::new();
        batches.resize_with(routes.len(), Batch::new);
        for pack in packs.drain(..) {
            // As in `route`: each match but the last gets a clone, the last the pack.
            let mut previous: Option<usize> = None;
            for i in table.index.candidates(&pack.msg) {
                if routes[i].accepts(&pack) {
                    if let Some(p) = previous
                        && self.add_to_batch(&mut batches[p], &routes[p], pack.clone())
                            == Routed::Lost
                    {
                        outcome = Routed::Lost;
                    }
                    previous = Some(i);
                }
            }
            match previous {
                Some(last) => {
                    if self.add_to_batch(&mut batches[last], &routes[last], pack) == Routed::Lost {
                        outcome = Routed::Lost;
                    }
                }
                // Heka recycles an unmatched pack: nothing will ever deliver it.
                None => pack.done(),
            }
        }
        for (route, batch) in routes.iter().zip(batches) {
            if !batch.is_empty() && self.send(route, batch) == Routed::Lost {
                outcome = Routed::Lost;
            }
        }
        outcome
    }

    /// Adds `pack` to `batch`, `route`'s, and sends the batch once it is full.
    fn add_to_batch(&self, batch: &mut Batch, route: &Route, pack: Pack) -> Routed {
        batch.push(pack);
        if batch.len() < MAX_ROUTE_BATCH {
            return Routed::Delivered;
        }
        self.send(route, std::mem::take(batch))
    }

    fn send(&self, route: &Route, batch: Batch) -> Routed {
        let count = batch.len();
        if let Some(pending) = &route.pending {
            pending.fetch_add(count, Ordering::AcqRel);
        }
        let result = match route.tx.try_send(batch) {
            Ok(()) => Routed::Delivered,
            Err(TrySendError::Full(batch)) => self.send_blocking(route, batch),
            Err(TrySendError::Disconnected(batch)) => {
                tracing::debug!(plugin = %route.name, count, "plugin stopped; messages abandoned");
                drop(batch);
                Routed::Lost
            }
        };
        if result == Routed::Lost
            && let Some(pending) = &route.pending
        {
            pending.fetch_sub(count, Ordering::AcqRel);
        }
        result
    }

    /// The queue is full: wait for room (back-pressure) unless routing is aborted.
    fn send_blocking(&self, route: &Route, pack: Batch) -> Routed {
        let mut select = Select::new();
        let send_index = select.send(&route.tx);
        select.recv(self.abort.receiver());
        let operation = select.select();
        if operation.index() == send_index {
            match operation.send(&route.tx, pack) {
                Ok(()) => Routed::Delivered,
                Err(err) => {
                    tracing::debug!(plugin = %route.name, "plugin stopped; message abandoned");
                    drop(err.into_inner());
                    Routed::Lost
                }
            }
        } else {
            // Complete the selected recv (it is a disconnection) and give up.
            let _ = operation.recv(self.abort.receiver());
            tracing::debug!(plugin = %route.name, "routing aborted at shutdown; message abandoned");
            drop(pack);
            Routed::Lost
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize};

    use heka_message::Matcher;

    use crate::ack::Ack;
    use crate::ack::testing::Record;
    use heka_message::Message;

    fn msg(type_: &str) -> Message {
        Message {
            r#type: Some(type_.to_owned()),
            ..Default::default()
        }
    }

    fn route(name: &str, expr: &str, cap: usize) -> (Route, crossbeam_channel::Receiver<Batch>) {
        let (tx, rx) = crossbeam_channel::bounded(cap);
        let route = Route {
            name: name.into(),
            matcher: Some(Matcher::parse(expr).unwrap()),
            signer: None,
            tx,
            pending: Some(Arc::new(AtomicUsize::new(0))),
            registered: Arc::new(AtomicBool::new(true)),
        };
        (route, rx)
    }

    #[test]
    fn fans_out_to_every_match_and_acks_when_nothing_matches() {
        let (a, rx_a) = route("a", "Type == 'x'", 4);
        let (b, rx_b) = route("b", "TRUE", 4);
        let (c, rx_c) = route("c", "Type == 'y'", 4);
        let pending_b = b.pending.clone().unwrap();
        let router = Router::new(vec![a, b, c], StopSignal::new());
        let sink = Arc::new(Record::default());

        assert_eq!(
            router.route(Pack::new(msg("x"), Some(Ack::new(1, sink.clone())))),
            Routed::Delivered
        );
        assert_eq!(rx_a.len(), 1);
        assert_eq!(rx_b.len(), 1);
        assert_eq!(rx_c.len(), 0);
        assert_eq!(pending_b.load(Ordering::Acquire), 1);
        rx_a.recv().unwrap().into_iter().for_each(Pack::done);
        assert!(sink.0.lock().unwrap().is_empty(), "b still holds it");
        rx_b.recv().unwrap().into_iter().for_each(Pack::done);
        assert_eq!(*sink.0.lock().unwrap(), vec![(1, true)]);

        // No route matches: the unit is done at once.
        let (a2, _rx) = route("a", "Type == 'x'", 4);
        let router = Router::new(vec![a2], StopSignal::new());
        router.route(Pack::new(msg("z"), Some(Ack::new(2, sink.clone()))));
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(2, true)));
    }

    #[test]
    fn stopped_plugin_abandons_and_abort_unblocks_a_full_queue() {
        let (a, rx_a) = route("a", "TRUE", 1);
        let pending = a.pending.clone().unwrap();
        let abort = StopSignal::new();
        let router = Arc::new(Router::new(vec![a], abort.clone()));
        let sink = Arc::new(Record::default());

        router.route(Pack::new(msg("x"), Some(Ack::new(1, sink.clone()))));
        // The queue is full: the next send blocks until abort is raised.
        let r = router.clone();
        let s = sink.clone();
        let blocked =
            std::thread::spawn(move || r.route(Pack::new(msg("x"), Some(Ack::new(2, s)))));
        abort.raise();
        assert_eq!(blocked.join().unwrap(), Routed::Lost);
        assert_eq!(*sink.0.lock().unwrap(), vec![(2, false)]);
        assert_eq!(pending.load(Ordering::Acquire), 1);

        // The plugin stops: runners drain their queue (abandoning it), then drop it.
        drop(rx_a.try_iter().collect::<Vec<_>>());
        drop(rx_a);
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(1, false)));
        assert_eq!(
            router.route(Pack::new(msg("x"), Some(Ack::new(3, sink.clone())))),
            Routed::Lost
        );
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(3, false)));
    }

    #[test]
    fn route_batch_sends_each_plugin_its_matches_in_order() {
        let (a, rx_a) = route("a", "Type == 'x'", 4);
        let (b, rx_b) = route("b", "TRUE", 4);
        let pending_b = b.pending.clone().unwrap();
        let router = Router::new(vec![a, b], StopSignal::new());
        let sink = Arc::new(Record::default());
        let mut packs: Vec<Pack> = ["x", "y", "x", "z"]
            .iter()
            .enumerate()
            .map(|(i, t)| Pack::new(msg(t), Some(Ack::new(i as u64, sink.clone()))))
            .collect();
        assert_eq!(router.route_batch(&mut packs), Routed::Delivered);
        assert!(packs.is_empty());
        let types = |b: &Batch| {
            b.iter()
                .map(|p| p.msg.type_().to_owned())
                .collect::<Vec<_>>()
        };
        let got_a = rx_a.try_recv().unwrap();
        let got_b = rx_b.try_recv().unwrap();
        assert!(rx_a.is_empty() && rx_b.is_empty(), "one batch each");
        assert_eq!(types(&got_a), ["x", "x"]);
        assert_eq!(types(&got_b), ["x", "y", "x", "z"]);
        assert_eq!(pending_b.load(Ordering::Acquire), 4);
        got_a.into_iter().for_each(Pack::done);
        assert_eq!(*sink.0.lock().unwrap(), vec![]);
        got_b.into_iter().for_each(Pack::done);
        assert_eq!(sink.0.lock().unwrap().len(), 4);
        assert!(sink.0.lock().unwrap().iter().all(|&(_, ok)| ok));

        // Nothing matches: done at once; more than MAX_ROUTE_BATCH: several batches.
        let (c, rx_c) = route("c", "Type == 'x'", 8);
        let router = Router::new(vec![c], StopSignal::new());
        let mut packs: Vec<Pack> = (0..MAX_ROUTE_BATCH + 1)
            .map(|_| Pack::new(msg("x"), None))
            .collect();
        packs.push(Pack::new(msg("q"), Some(Ack::new(99, sink.clone()))));
        router.route_batch(&mut packs);
        assert_eq!(sink.0.lock().unwrap().last(), Some(&(99, true)));
        let sizes: Vec<usize> = rx_c.try_iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [MAX_ROUTE_BATCH, 1]);
    }

    #[test]
    fn message_signer_admits_only_packs_that_signer_signed() {
        let (mut ops, rx_ops) = route("ops", "TRUE", 8);
        ops.signer = Some(Arc::from("ops"));
        let (any, rx_any) = route("any", "TRUE", 8);
        let router = Router::new(vec![ops, any], StopSignal::new());
        let signer = |s: Option<&str>| s.map(Arc::from);
        let mut packs = vec![
            Pack::signed(msg("a"), None, signer(Some("ops"))),
            Pack::signed(msg("b"), None, signer(Some("dev"))),
            Pack::signed(msg("c"), None, None),
        ];
        router.route_batch(&mut packs);
        router.route(Pack::signed(msg("d"), None, signer(Some("ops"))));
        router.route(Pack::signed(msg("e"), None, None));
        let types = |rx: &crossbeam_channel::Receiver<Batch>| {
            rx.try_iter()
                .flatten()
                .map(|p| p.msg.type_().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(types(&rx_ops), ["a", "d"]);
        assert_eq!(types(&rx_any), ["a", "b", "c", "d", "e"]);
    }

    /// Enough routes on `Type` for the table to key it: `route` tests only the
    /// message's Type's route and the unkeyed ones, and delivers as before.
    #[test]
    fn route_delivers_through_the_index() {
        let mut receivers = Vec::new();
        let routes: Vec<Route> = (0..10)
            .map(|i| format!("Type == 't{i}'"))
            .chain(["TRUE".to_owned(), "Type =~ /^t/".to_owned()])
            .enumerate()
            .map(|(i, expr)| {
                let (r, rx) = route(&format!("f{i}"), &expr, 4);
                receivers.push(rx);
                r
            })
            .collect();
        let router = Router::new(routes, StopSignal::new());
        assert!(!router.table().enter().index.keyed_headers().is_empty());
        let sink = Arc::new(Record::default());
        for t in ["t3", "x"] {
            router.route(Pack::new(msg(t), Some(Ack::new(1, sink.clone()))));
        }
        let got: Vec<usize> = receivers.iter().map(|rx| rx.len()).collect();
        assert_eq!(got, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 1]);
    }

    /// 100 filters and an output are more routes than fit in a 64-bit mask: each
    /// plugin still gets one batch of its matches per call, in order, and the acks
    /// complete once every copy is done.
    #[test]
    fn route_batch_batches_beyond_64_routes() {
        let mut routes = Vec::new();
        let mut receivers = Vec::new();
        for i in 0..100 {
            // Routes 0 and 99 match every message; the rest match one Type each.
            let expr = if i == 0 || i == 99 {
                "TRUE".to_owned()
            } else {
                format!("Type == 't{i}'")
            };
            let (r, rx) = route(&format!("f{i}"), &expr, 4);
            routes.push(r);
            receivers.push(rx);
        }
        let router = Router::new(routes, StopSignal::new());
        let sink = Arc::new(Record::default());
        let types = ["t70", "a", "t70", "t5", "b"];
        let mut packs: Vec<Pack> = types
            .iter()
            .enumerate()
            .map(|(i, t)| Pack::new(msg(t), Some(Ack::new(i as u64, sink.clone()))))
            .collect();
        assert_eq!(router.route_batch(&mut packs), Routed::Delivered);
        let got = |i: usize| -> Vec<Batch> { receivers[i].try_iter().collect() };
        let names = |batches: &[Batch]| -> Vec<Vec<String>> {
            batches
                .iter()
                .map(|b| b.iter().map(|p| p.msg.type_().to_owned()).collect())
                .collect()
        };
        let (first, last, f70, f5) = (got(0), got(99), got(70), got(5));
        assert_eq!(names(&first), [types.map(str::to_owned).to_vec()]);
        assert_eq!(names(&last), names(&first));
        assert_eq!(names(&f70), [vec!["t70", "t70"]]);
        assert_eq!(names(&f5), [vec!["t5"]]);
        assert!(
            (1..99)
                .filter(|&i| i != 5 && i != 70)
                .all(|i| receivers[i].is_empty())
        );
        for batches in [first, f70, f5] {
            batches.into_iter().flatten().for_each(Pack::done);
        }
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "route 99 still holds every unit"
        );
        last.into_iter().flatten().for_each(Pack::done);
        let mut done = sink.0.lock().unwrap().clone();
        done.sort_unstable();
        assert_eq!(done, (0..5).map(|i| (i, true)).collect::<Vec<_>>());
    }
}
