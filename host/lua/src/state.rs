//! The Lua state's app data ([`State`]): everything the API functions, the Rust
//! modules (`cjson`, `lpeg`, `circular_buffer`, ...) and `preserve_data` see of the
//! current call — the message lent, the bounded output, the instruction count and
//! the plugin's options — and the constants of the instruction budget.
//!
//! Its own module, below everything else in the crate: the runtime installs the API
//! and the modules, and they all reach the state through [`state`], so none of them
//! depends on the runtime (no import circle).

use std::collections::HashMap;
use std::path::PathBuf;

use heka_message::Message;
use heka_pipeline::sandbox::{ConfigValue, Emitted, LimitExceeded};
use mlua::{AppDataRefMut, Lua};

/// The state, or a Lua error when it is already borrowed (re-entrancy).
pub(crate) fn state(lua: &Lua) -> mlua::Result<AppDataRefMut<'_, State>> {
    match lua.try_app_data_mut::<State>() {
        Ok(Some(s)) => Ok(s),
        _ => Err(mlua::Error::runtime("sandbox state unavailable")),
    }
}

/// Instructions between two runs of the count hook. The limit is enforced to within
/// this many instructions; running the hook more often costs time on every call.
pub(crate) const HOOK_STEP: u64 = 1000;

/// Instructions allowed for loading the script (its top level) and restoring data:
/// start-up work, not a per-message budget, but still bounded against endless loops.
pub(crate) const START_INSTRUCTIONS: u64 = 100_000_000;

/// Which plugin kind a state serves (decides which API functions exist and how
/// return codes read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Filter,
    Encoder,
    Decoder,
}

/// A message lent to the state for one call.
pub(crate) enum Slot {
    Empty,
    /// Borrowed from the caller for the duration of one call (see [`Runtime::call`]).
    Borrowed(MsgPtr),
    /// The decoder's own message, or a copy made on the first `write_message`.
    Owned(Box<Message>),
}

/// A pointer to a message the caller lends for exactly one call.
pub(crate) struct MsgPtr(*const Message);

// SAFETY: the pointer is only dereferenced on the thread running the call that set
// it, while the caller's `&Message` borrow is alive; `Runtime::call` clears it before
// returning (a drop guard, so also when unwinding).
unsafe impl Send for MsgPtr {}

impl MsgPtr {
    /// Lends `msg` for one [`Runtime::call`], which clears it before returning.
    pub(crate) fn new(msg: &Message) -> MsgPtr {
        MsgPtr(msg as *const Message)
    }
}

impl Slot {
    pub(crate) fn get(&self) -> Option<&Message> {
        match self {
            Slot::Empty => None,
            // SAFETY: see `MsgPtr`: valid for the whole call that set it.
            Slot::Borrowed(p) => Some(unsafe { &*p.0 }),
            Slot::Owned(m) => Some(m),
        }
    }

    /// The message for writing: copy on write for borrowed and shared ones.
    pub(crate) fn get_mut(&mut self) -> Option<&mut Message> {
        if matches!(self, Slot::Borrowed(_)) {
            let copy = self.get().cloned()?;
            *self = Slot::Owned(Box::new(copy));
        }
        match self {
            Slot::Owned(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn take_owned(&mut self) -> Option<Message> {
        match std::mem::replace(self, Slot::Empty) {
            Slot::Owned(m) => Some(*m),
            _ => None,
        }
    }
}

/// Everything the API functions see, kept as the Lua state's app data.
pub(crate) struct State {
    pub(crate) kind: Kind,
    pub(crate) msg: Slot,
    /// `read_message("raw")`: the decoder's record, or the protobuf encoding of the
    /// message made on first use in a call.
    pub(crate) raw: Vec<u8>,
    pub(crate) raw_state: RawState,
    /// `read_next_field` position in the current message.
    pub(crate) next_field: usize,
    /// The output buffer and the call's injections, bounded as they arrive (the
    /// sandbox contract's, shared with the wasm engine).
    pub(crate) emitted: Emitted,
    /// The index, in the current batch, of the message being processed.
    pub(crate) at: u32,
    /// Decoders' `[x.config] tz`: injected Timestamps are wall times in this zone.
    pub(crate) tz: Option<crate::tz::Zone>,
    /// A limit broken during the call (the reason), terminating the plugin.
    pub(crate) fatal: Option<String>,
    pub(crate) instruction_limit: u64,
    pub(crate) instructions: u64,
    pub(crate) config: HashMap<String, ConfigValue>,
    pub(crate) module_directory: Vec<PathBuf>,
    /// `cjson.decode_null(true)`: JSON null decodes to `cjson.null` instead of nil.
    pub(crate) decode_null: bool,
    /// Identity of the library tables, skipped by `preserve_data`.
    pub(crate) library_tables: Vec<usize>,
}

/// What `read_message("raw")` returns during a call.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    /// The protobuf encoding of the message (filters, encoders).
    Encode,
    /// A decoder's record from a message-bytes splitter.
    Given(&'a [u8]),
    /// A decoder's text record: nil.
    Absent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawState {
    /// Encode the message on the first `read_message("raw")`.
    Stale,
    Valid,
    /// A decoder given no raw record: `read_message("raw")` is nil.
    Absent,
}

impl State {
    /// Records a broken limit and returns the Lua error that aborts the script.
    pub(crate) fn limit_exceeded(&mut self, reason: String) -> mlua::Error {
        if self.fatal.is_none() {
            self.fatal = Some(reason.clone());
        }
        mlua::Error::runtime(reason)
    }

    /// A refusal from [`Emitted`] as the Lua error that aborts the script (Emitted
    /// remembers it, so a `pcall` does not save the script).
    pub(crate) fn emit_error(limit: LimitExceeded) -> mlua::Error {
        mlua::Error::runtime(limit.to_string())
    }
}

/// The message of a Lua error without mlua's decorations and tracebacks.
pub(crate) fn error_text(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => return error_text(cause),
        mlua::Error::WithContext { cause, .. } => return error_text(cause),
        other => other.to_string(),
    };
    match text.find("\nstack traceback:") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
