//! Proves `Matcher::matches` allocates nothing per message: a counting global
//! allocator (this test binary's own) watches a loop of matches. Regex caches are
//! warmed first; the regex crate keeps one per thread and reuses it. Only the
//! test's own thread is counted: libtest's main thread may allocate meanwhile (a
//! loaded CI machine once counted 4 allocations that were not the matcher's).

use heka_message::{Field, Matcher, Message, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted (a const initialiser: reading it
    /// allocates nothing, so the allocator may).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn matching_allocates_nothing() {
    let mut msg = Message {
        uuid: vec![9; 16],
        timestamp: 1,
        r#type: Some("nginx.access".into()),
        payload: Some("GET /index.html HTTP/1.1".into()),
        ..Default::default()
    };
    msg.add_field("status", Value::Integer(200), "");
    let mut tags = Field::new("tags", Value::String("a".into()), "");
    tags.push(Value::String("b".into()));
    msg.fields.push(tags);
    msg.add_field("raw", Value::Bytes(b"xyz".to_vec()), "");

    let matchers: Vec<Matcher> = [
        "Type == 'nginx.access'",
        "Uuid =~ /^09090909-/ || Uuid == 'x'",
        "Payload =~ /GET \\/\\w+\\.html/",
        "Payload =~ /index/ && Payload !~ /^POST/ && Payload =~ /1$/",
        "Fields[status] >= 200 && Fields[status] < 300",
        "Fields[tags][0][1] == 'b' || Fields[missing] == NIL",
        "Fields[raw] =~ /y/ && Severity == 7 && Timestamp > 0",
        "(Hostname == '' || Logger != '') && Pid == 0",
    ]
    .iter()
    .map(|e| Matcher::parse(e).unwrap())
    .collect();

    // Warm up (the regex crate builds its per-thread search cache lazily).
    let mut hits = 0;
    for m in &matchers {
        hits += usize::from(m.matches(&msg));
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTED.with(|c| c.set(true));
    for _ in 0..1000 {
        for m in &matchers {
            hits += usize::from(m.matches(&msg));
        }
    }
    COUNTED.with(|c| c.set(false));
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(hits, 8 * 1001, "every matcher matches the message");
    assert_eq!(after - before, 0, "allocations during 8000 matches");
}
