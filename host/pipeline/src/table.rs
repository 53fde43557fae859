//! The router's routing table, swappable while messages flow (a reload adds, removes
//! or replaces filters and outputs without stopping the others).
//!
//! Every routing call ([`TableCell::enter`]) works on one table from start to end: a
//! batch is never split between two tables. The hot path takes no lock: each thread
//! keeps the table it used last (a thread-local `Arc`) and only compares the cell's
//! version number with it; the lock is taken once per thread after a swap.
//!
//! A swap ([`TableCell::swap`]) publishes the new table at once and returns the old
//! one, whose [`Table::in_use`] says whether a routing call may still be sending with
//! it. That is the reload's "quiescence": once the old table is out of use, no message
//! can reach the queue of a plugin it alone names, so that plugin can be drained and
//! stopped knowing nothing more will arrive. The check is the classic two-sided one
//! (both sides use `SeqCst`): a caller announces itself on the table, then re-reads the
//! version; the swapper moves the version, then reads the announcements. Either the
//! swapper sees the caller, or the caller sees the new version and retries with it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crossbeam_channel::Sender;
use heka_message::Matcher;

use crate::pack::{Batch, Pack};
use crate::route_index::RouteIndex;

/// One filter's or output's entry in the table (a reload copies the entries of the
/// plugins it keeps into the next table: same queue, same counters).
#[derive(Clone)]
pub(crate) struct Route {
    pub name: Arc<str>,
    /// None matches everything (collectors in tests).
    pub matcher: Option<Matcher>,
    /// `message_signer`: only packs this signer's signature verified are considered.
    pub signer: Option<Arc<str>>,
    pub tx: Sender<Batch>,
    /// Filters only: packs sent but not yet processed (incremented before the send so
    /// the supervisor can tell when filters are quiescent at shutdown).
    pub pending: Option<Arc<AtomicUsize>>,
    /// Cleared when the plugin is terminated: Heka unregisters its matcher, so later
    /// messages are no longer held (and abandoned) by a plugin that is gone.
    pub registered: Arc<AtomicBool>,
}

impl Route {
    /// Whether the plugin gets `pack`: still registered, the signer (when asked for)
    /// checked first as in Heka, then the matcher.
    /// A registered route for the plugin `name` (`pending`: filters only).
    pub(crate) fn new(
        name: &str,
        matcher: &Matcher,
        signer: &Option<Arc<str>>,
        tx: Sender<Batch>,
        pending: Option<Arc<AtomicUsize>>,
    ) -> Route {
        Route {
            name: Arc::from(name),
            matcher: Some(matcher.clone()),
            signer: signer.clone(),
            tx,
            pending,
            registered: Arc::new(AtomicBool::new(true)),
        }
    }

    pub(crate) fn accepts(&self, pack: &Pack) -> bool {
        self.registered.load(Ordering::Relaxed)
            && self
                .signer
                .as_ref()
                .is_none_or(|want| pack.signer.as_ref() == Some(want))
            && self.matcher.as_ref().is_none_or(|m| m.matches(&pack.msg))
    }
}

/// Routers made so far: each cell's id, so a thread-local cache never confuses two.
static CELLS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The table this thread routed with last, with its cell's id.
    static LAST: RefCell<Option<(u64, Arc<Table>)>> = const { RefCell::new(None) };
}

/// One version of the routing table.
pub(crate) struct Table {
    pub(crate) routes: Box<[Route]>,
    /// Which of `routes` each message is tested against (built with the table, so a
    /// reload re-keys it).
    pub(crate) index: RouteIndex,
    version: u64,
    /// Routing calls using this table now.
    users: AtomicUsize,
}

impl Table {
    fn new(routes: Vec<Route>, version: u64) -> Table {
        Table {
            index: RouteIndex::build(routes.iter().map(|r| r.matcher.as_ref())),
            routes: routes.into_boxed_slice(),
            version,
            users: AtomicUsize::new(0),
        }
    }

    /// Whether a routing call may still be sending with this table.
    pub(crate) fn in_use(&self) -> bool {
        self.users.load(Ordering::SeqCst) > 0
    }
}

/// The current table and its version.
pub(crate) struct TableCell {
    id: u64,
    version: AtomicU64,
    current: RwLock<Arc<Table>>,
}

/// A routing call's hold on a table; the table is out of use again when it drops.
pub(crate) struct Entered {
    table: Arc<Table>,
}

impl std::ops::Deref for Entered {
    type Target = Table;
    fn deref(&self) -> &Table {
        &self.table
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.table.users.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TableCell {
    pub(crate) fn new(routes: Vec<Route>) -> TableCell {
        TableCell {
            id: CELLS.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(0),
            current: RwLock::new(Arc::new(Table::new(routes, 0))),
        }
    }

    /// The current table, held until the returned guard drops.
    pub(crate) fn enter(&self) -> Entered {
        loop {
            let version = self.version.load(Ordering::SeqCst);
            let table = self.cached(version).unwrap_or_else(|| self.refresh());
            table.users.fetch_add(1, Ordering::SeqCst);
            if self.version.load(Ordering::SeqCst) == table.version {
                return Entered { table };
            }
            // Swapped meanwhile: the swapper may not have seen us; use the new one.
            table.users.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn cached(&self, version: u64) -> Option<Arc<Table>> {
        LAST.with(|last| match &*last.borrow() {
            Some((id, table)) if *id == self.id && table.version == version => Some(table.clone()),
            _ => None,
        })
    }

    fn refresh(&self) -> Arc<Table> {
        let table = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        LAST.with(|last| *last.borrow_mut() = Some((self.id, table.clone())));
        table
    }

    /// The routes of the current table (a snapshot, for building the next one).
    pub(crate) fn snapshot(&self) -> Arc<Table> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Publishes `routes` as the table; returns the previous one (see
    /// [`Table::in_use`]).
    pub(crate) fn swap(&self, routes: Vec<Route>) -> Arc<Table> {
        // Indexed before taking the lock, which threads refreshing their cache wait on.
        let mut next = Table::new(routes, 0);
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        let version = current.version + 1;
        next.version = version;
        let next = Arc::new(next);
        let previous = std::mem::replace(&mut *current, next);
        self.version.store(version, Ordering::SeqCst);
        previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn route(name: &str) -> Route {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        Route {
            name: name.into(),
            matcher: None,
            signer: None,
            tx,
            pending: None,
            registered: Arc::new(AtomicBool::new(true)),
        }
    }

    fn names(table: &Table) -> Vec<String> {
        table.routes.iter().map(|r| r.name.to_string()).collect()
    }

    #[test]
    fn a_swap_is_seen_by_the_next_call_and_the_old_table_goes_out_of_use() {
        let cell = TableCell::new(vec![route("a")]);
        let held = cell.enter();
        assert_eq!(names(&held), ["a"]);
        let old = cell.swap(vec![route("a"), route("b")]);
        assert!(old.in_use(), "a call still routes with it");
        // The next call on this thread (whose cache holds the old table) sees the new.
        assert_eq!(names(&cell.enter()), ["a", "b"]);
        drop(held);
        assert!(!old.in_use());
        assert_eq!(names(&cell.snapshot()), ["a", "b"]);
    }

    #[test]
    fn a_swap_rebuilds_the_index_with_the_table() {
        let keyed = |name: &str, type_: &str| Route {
            matcher: Some(Matcher::parse(&format!("Type == '{type_}'")).unwrap()),
            ..route(name)
        };
        // Four routes on four Types: worth keying `Type`.
        let table = |names: [&str; 4]| -> Vec<Route> {
            let types = ["w", "x", "y", "z"];
            names.iter().zip(types).map(|(n, t)| keyed(n, t)).collect()
        };
        let cell = TableCell::new(table(["a", "b", "c", "d"]));
        let msg = heka_message::Message {
            r#type: Some("y".into()),
            ..Default::default()
        };
        let tested = |t: &Table| -> Vec<String> {
            let names = t
                .index
                .candidates(&msg)
                .map(|i| t.routes[i].name.to_string());
            names.collect()
        };
        assert_eq!(tested(&cell.enter()), ["c"]);
        cell.swap(table(["e", "f", "g", "h"]));
        assert_eq!(tested(&cell.enter()), ["g"]);
        cell.swap([table(["i", "j", "k", "l"]), vec![keyed("m", "y")]].concat());
        assert_eq!(tested(&cell.enter()), ["k", "m"]);
    }

    #[test]
    fn two_cells_on_one_thread_do_not_share_a_cache() {
        let (x, y) = (TableCell::new(vec![route("x")]), TableCell::new(vec![]));
        assert_eq!(names(&x.enter()), ["x"]);
        assert!(names(&y.enter()).is_empty());
        assert_eq!(names(&x.enter()), ["x"]);
    }

    #[test]
    fn calls_on_other_threads_keep_the_old_table_in_use_until_they_end() {
        let cell = Arc::new(TableCell::new(vec![route("a")]));
        let (entered_tx, entered_rx) = crossbeam_channel::bounded(0);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let c = cell.clone();
        let worker = std::thread::spawn(move || {
            let held = c.enter();
            entered_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            names(&held)
        });
        entered_rx.recv().unwrap();
        let old = cell.swap(vec![route("b")]);
        assert!(old.in_use());
        release_tx.send(()).unwrap();
        assert_eq!(worker.join().unwrap(), ["a"]);
        assert!(!old.in_use());
    }
}
