//! The router: an immutable table of (matcher, queue) routes, one per filter and
//! output, evaluated by whichever thread has a message to route (an input delivering,
//! a filter injecting). There is no router thread and no lock: the table is built
//! once at start and shared through an `Arc`.
//!
//! Each matching plugin gets its own copy of the [`Pack`] (an `Arc` clone of the
//! message plus one more holder of each ack). Sends block only when *that* plugin's
//! queue is full, so a slow output holds up the others only once its own queue is
//! full (Heka's back-pressure, per plugin instead of per router). A blocked send gives
//! up when the routing abort signal is raised (shutdown deadline or second signal);
//! a send to a plugin that has stopped fails at once. Either way that copy's acks are
//! dropped, which marks its unit abandoned.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_channel::{Select, Sender, TrySendError};
use heka_message::Matcher;

use crate::pack::Pack;
use crate::stop::StopSignal;

/// One filter's or output's entry in the table.
pub(crate) struct Route {
    pub name: Arc<str>,
    /// None matches everything (collectors in tests).
    pub matcher: Option<Matcher>,
    pub tx: Sender<Pack>,
    /// Filters only: packs sent but not yet processed (incremented before the send so
    /// the supervisor can tell when filters are quiescent at shutdown).
    pub pending: Option<Arc<AtomicUsize>>,
    /// Cleared when the plugin is terminated: Heka unregisters its matcher, so later
    /// messages are no longer held (and abandoned) by a plugin that is gone.
    pub registered: Arc<AtomicBool>,
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
    routes: Box<[Route]>,
    abort: StopSignal,
}

impl Router {
    pub(crate) fn new(routes: Vec<Route>, abort: StopSignal) -> Router {
        Router {
            routes: routes.into_boxed_slice(),
            abort,
        }
    }

    /// The signal that makes blocked sends give up.
    pub(crate) fn abort_signal(&self) -> &StopSignal {
        &self.abort
    }

    /// Sends a copy of `pack` to every filter and output whose matcher accepts it.
    /// The last match gets the pack itself, so the common single match clones nothing.
    pub(crate) fn route(&self, pack: Pack) -> Routed {
        let mut outcome = Routed::Delivered;
        let mut previous: Option<&Route> = None;
        for route in self.routes.iter() {
            if route.registered.load(Ordering::Relaxed)
                && route.matcher.as_ref().is_none_or(|m| m.matches(&pack.msg))
            {
                if let Some(prev) = previous
                    && self.send(prev, pack.clone()) == Routed::Lost
                {
                    outcome = Routed::Lost;
                }
                previous = Some(route);
            }
        }
        match previous {
            Some(last) => {
                if self.send(last, pack) == Routed::Lost {
                    outcome = Routed::Lost;
                }
            }
            // Heka recycles an unmatched pack: nothing will ever deliver it, on purpose.
            None => pack.done(),
        }
        outcome
    }

    fn send(&self, route: &Route, pack: Pack) -> Routed {
        if let Some(pending) = &route.pending {
            pending.fetch_add(1, Ordering::AcqRel);
        }
        let result = match route.tx.try_send(pack) {
            Ok(()) => Routed::Delivered,
            Err(TrySendError::Full(pack)) => self.send_blocking(route, pack),
            Err(TrySendError::Disconnected(pack)) => {
                tracing::debug!(plugin = %route.name, "plugin stopped; message abandoned");
                drop(pack);
                Routed::Lost
            }
        };
        if result == Routed::Lost
            && let Some(pending) = &route.pending
        {
            pending.fetch_sub(1, Ordering::AcqRel);
        }
        result
    }

    /// The queue is full: wait for room (back-pressure) unless routing is aborted.
    fn send_blocking(&self, route: &Route, pack: Pack) -> Routed {
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
    use crate::ack::{Ack, AckSink};
    use heka_message::Message;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<(u64, bool)>>);
    impl AckSink for Record {
        fn completed(&self, id: u64, delivered: bool) {
            self.0.lock().unwrap().push((id, delivered));
        }
    }

    fn msg(type_: &str) -> Message {
        Message {
            r#type: Some(type_.to_owned()),
            ..Default::default()
        }
    }

    fn route(name: &str, expr: &str, cap: usize) -> (Route, crossbeam_channel::Receiver<Pack>) {
        let (tx, rx) = crossbeam_channel::bounded(cap);
        let route = Route {
            name: name.into(),
            matcher: Some(Matcher::parse(expr).unwrap()),
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
        rx_a.recv().unwrap().done();
        assert!(sink.0.lock().unwrap().is_empty(), "b still holds it");
        rx_b.recv().unwrap().done();
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
}
