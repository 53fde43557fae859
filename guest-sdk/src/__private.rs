//! The generated bindings of `wit/heka.wit` and the glue the `export_*!` macros
//! expand to. Plugin authors never name anything here; it is public only because
//! macros expanded in the plugin's crate must reach it.
//!
//! One `generate!` per world; the encoder and decoder worlds reuse the filter's
//! `types` and `host` modules (`with`) so there is one copy of the imports. The
//! export macros are public (`pub_export_macro`), which makes wit-bindgen emit the
//! export half of each world only where a plugin invokes it: a component exports
//! exactly one world.

use std::cell::RefCell;

use crate::{
    BATCH, CURRENT, CURRENT_INDEX, CURRENT_RANGE, Error, ErrorKind, IN_BATCH, Message, RAW, SPARE,
    WRITTEN,
};

pub use wit_bindgen;

pub mod filter {
    wit_bindgen::generate!({
        path: "wit",
        world: "filter",
        pub_export_macro: true,
        export_macro_name: "export_filter_world",
        default_bindings_module: "heka_sdk::__private::filter",
        runtime_path: "heka_sdk::__private::wit_bindgen::rt",
    });
}

pub mod encoder {
    wit_bindgen::generate!({
        path: "wit",
        world: "encoder",
        pub_export_macro: true,
        export_macro_name: "export_encoder_world",
        default_bindings_module: "heka_sdk::__private::encoder",
        runtime_path: "heka_sdk::__private::wit_bindgen::rt",
        with: {
            "heka:plugin/types@0.1.0": crate::__private::filter::heka::plugin::types,
            "heka:plugin/host@0.1.0": crate::__private::filter::heka::plugin::host,
        },
    });
}

pub mod decoder {
    wit_bindgen::generate!({
        path: "wit",
        world: "decoder",
        pub_export_macro: true,
        export_macro_name: "export_decoder_world",
        default_bindings_module: "heka_sdk::__private::decoder",
        runtime_path: "heka_sdk::__private::wit_bindgen::rt",
        with: {
            "heka:plugin/types@0.1.0": crate::__private::filter::heka::plugin::types,
            "heka:plugin/host@0.1.0": crate::__private::filter::heka::plugin::host,
        },
    });
}

pub use filter::heka::plugin::types::{MessageOutcome, Outcome};

use filter::heka::plugin::{host, types::Level};

/// The plugin instance lives in a thread-local declared by the export macro.
pub type Slot<T> = RefCell<Option<T>>;

fn outcome(r: crate::Result) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(e) => match e.kind {
            ErrorKind::Failed => Outcome::Failed(e.reason),
            ErrorKind::Skip => Outcome::Skip,
            ErrorKind::Fatal => Outcome::Fatal(e.reason),
        },
    }
}

/// `init`: installs the panic hook and builds the plugin.
pub fn init<T>(slot: &Slot<T>, new: fn() -> crate::Result<T>) -> Result<(), String> {
    // A panic aborts the instance (a trap for the host); logging it first puts the
    // message in hekad's log and lets the host name it in the termination reason.
    std::panic::set_hook(Box::new(|info| {
        host::log(Level::Error, &format!("panic: {info}"));
    }));
    let plugin = new().map_err(|e| e.reason)?;
    *slot.borrow_mut() = Some(plugin);
    Ok(())
}

/// The filter-batch format this SDK reads (`batch-format` in `heka.wit`).
pub const BATCH_FORMAT: u32 = heka_message::batch::FORMAT_VERSION;

const NOT_INITIALISED: &str = "plugin called before init";

/// `process-batch`: decodes each entry of `batch` (`heka_message::batch`)
/// into the reused current message and calls `f` on it; returns the outcomes that
/// are not `ok`.
pub fn filter_batch<T>(
    slot: &Slot<T>,
    batch: Vec<u8>,
    f: fn(&mut T, &Message) -> crate::Result,
) -> Vec<MessageOutcome> {
    let mut out = Vec::new();
    let mut guard = slot.borrow_mut();
    let Some(plugin) = guard.as_mut() else {
        out.push(MessageOutcome {
            index: 0,
            outcome: Outcome::Fatal(NOT_INITIALISED.into()),
        });
        return out;
    };
    BATCH.set(batch);
    IN_BATCH.set(true);
    BATCH.with_borrow(|b| {
        for (index, entry) in heka_message::batch::entries(b).enumerate() {
            let index = index as u32;
            CURRENT_INDEX.set(index);
            let Ok(bytes) = entry else {
                // A batch whose framing is broken cannot be walked further: fatal,
                // it is the host's bug, not the message's.
                out.push(MessageOutcome {
                    index,
                    outcome: Outcome::Fatal("truncated batch".into()),
                });
                break;
            };
            let result = match load_entry(bytes) {
                // The host wrote this entry from a valid message: failing to read it
                // means host and SDK disagree on the format (which the format
                // version checked at load should rule out). Fatal, not a per-message
                // failure: a failed message counts as done, and every message would
                // fail, so lines would be acknowledged without being processed.
                Err(e) => Err(Error::fatal(format!(
                    "cannot read the host's message (host and heka-sdk versions differ?): {e}"
                ))),
                Ok(()) => CURRENT.with_borrow(|m| f(plugin, m)),
            };
            if let Err(e) = result {
                let fatal = e.kind == ErrorKind::Fatal;
                out.push(MessageOutcome {
                    index,
                    outcome: outcome(Err(e)),
                });
                if fatal {
                    break;
                }
            }
        }
    });
    IN_BATCH.set(false);
    CURRENT_INDEX.set(0);
    out
}

/// Decodes a filter batch entry into the current message, reusing the previous
/// message's buffers.
#[inline]
fn load_entry(bytes: &[u8]) -> Result<(), heka_message::ReadError> {
    CURRENT.with_borrow_mut(|m| {
        SPARE.with_borrow_mut(|spare| {
            // No reclaim first: the entry is decoded over the previous message.
            let r = heka_message::batch::decode_entry(m, bytes, spare);
            if r.is_err() {
                spare.reclaim(m);
            }
            r
        })
    })
}

/// Decodes protobuf `bytes` into the current message, reusing the previous message's
/// buffers.
#[inline]
fn load(bytes: &[u8]) -> Result<(), heka_message::ReadError> {
    CURRENT.with_borrow_mut(|m| {
        SPARE.with_borrow_mut(|spare| {
            spare.reclaim(m);
            let r = heka_message::decode_into(m, bytes, spare);
            if r.is_err() {
                spare.reclaim(m);
            }
            r
        })
    })
}

/// `timer-event`.
pub fn timer_event<T>(slot: &Slot<T>, ns: i64, f: fn(&mut T, i64) -> crate::Result) -> Outcome {
    CURRENT_INDEX.set(0);
    match slot.borrow_mut().as_mut() {
        Some(plugin) => outcome(f(plugin, ns)),
        None => Outcome::Fatal(NOT_INITIALISED.into()),
    }
}

/// `restore-state`.
pub fn restore_state<T>(
    slot: &Slot<T>,
    data: &[u8],
    f: fn(&mut T, &[u8]) -> crate::Result,
) -> Result<(), String> {
    match slot.borrow_mut().as_mut() {
        Some(plugin) => f(plugin, data).map_err(|e| e.reason),
        None => Err(NOT_INITIALISED.into()),
    }
}

/// Decodes `msg` into the current message; `Err` is the outcome to return.
fn load_current(msg: &[u8]) -> Result<(), Outcome> {
    CURRENT_INDEX.set(0);
    // As in `filter_batch`: the host encoded this message, so not reading it is a
    // host/SDK mismatch, fatal rather than a dropped message.
    load(msg).map_err(|e| {
        Outcome::Fatal(format!(
            "cannot read the host's message (host and heka-sdk versions differ?): {e}"
        ))
    })
}

/// `encode`.
pub fn encode<T>(
    slot: &Slot<T>,
    msg: Vec<u8>,
    f: fn(&mut T, &Message) -> crate::Result,
) -> Outcome {
    if let Err(o) = load_current(&msg) {
        return o;
    }
    BATCH.set(msg);
    CURRENT_RANGE.set((0, BATCH.with_borrow(Vec::len)));
    let result = match slot.borrow_mut().as_mut() {
        Some(plugin) => outcome(CURRENT.with_borrow(|m| f(plugin, m))),
        None => Outcome::Fatal(NOT_INITIALISED.into()),
    };
    CURRENT_RANGE.set((0, 0));
    result
}

/// `decode`: returns the outcome and the written message, if any.
pub fn decode<T>(
    slot: &Slot<T>,
    msg: Vec<u8>,
    raw: Option<Vec<u8>>,
    f: fn(&mut T, &Message) -> crate::Result,
) -> decoder::Decoded {
    if let Err(outcome) = load_current(&msg) {
        return decoder::Decoded {
            outcome,
            written: None,
        };
    }
    RAW.set(raw);
    WRITTEN.set(None);
    let result = match slot.borrow_mut().as_mut() {
        Some(plugin) => outcome(CURRENT.with_borrow(|m| f(plugin, m))),
        None => Outcome::Fatal(NOT_INITIALISED.into()),
    };
    RAW.set(None);
    let written = WRITTEN.take().map(|m| {
        let mut bytes = Vec::new();
        heka_message::encode_message(&m, &mut bytes);
        bytes
    });
    decoder::Decoded {
        outcome: result,
        written,
    }
}

/// The `save-state` / `restore-state` exports every world has (`preserve_data`),
/// written once for the three `export_*!` macros. Expands inside their `impl Guest`,
/// where `__HEKA_PLUGIN` is the plugin's slot.
#[doc(hidden)]
#[macro_export]
macro_rules! __heka_state_exports {
    ($ty:ty, $trait:path) => {
        fn save_state() -> ::core::option::Option<::std::vec::Vec<u8>> {
            __HEKA_PLUGIN.with(|s| s.borrow().as_ref().and_then(<$ty as $trait>::save_state))
        }
        fn restore_state(
            data: ::std::vec::Vec<u8>,
        ) -> ::core::result::Result<(), ::std::string::String> {
            __HEKA_PLUGIN.with(|s| {
                $crate::__private::restore_state(s, &data, <$ty as $trait>::restore_state)
            })
        }
    };
}

/// The shape the three `export_*!` macros share, written once: the plugin's slot,
/// the world's `Guest` impl with `init` and the state exports, and wit-bindgen's
/// export of the world. `$methods` are the world's own exports; they reach the
/// plugin through `__HEKA_PLUGIN`.
#[doc(hidden)]
#[macro_export]
macro_rules! __heka_export {
    ($ty:ty, $trait:path, $world:ident, $export:ident, { $($methods:tt)* }) => {
        const _: () = {
            struct __HekaExport;
            ::std::thread_local! {
                static __HEKA_PLUGIN: $crate::__private::Slot<$ty> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            impl $crate::__private::$world::Guest for __HekaExport {
                fn init() -> ::core::result::Result<(), ::std::string::String> {
                    __HEKA_PLUGIN.with(|s| $crate::__private::init(s, <$ty as $trait>::new))
                }
                $($methods)*
                $crate::__heka_state_exports!($ty, $trait);
            }
            $crate::__private::$world::$export!(
                __HekaExport with_types_in $crate::__private::$world
            );
        };
    };
}

/// Exports a [`Filter`](crate::Filter) implementation as the component's filter world.
#[macro_export]
macro_rules! export_filter {
    ($ty:ty) => {
        $crate::__heka_export!($ty, $crate::Filter, filter, export_filter_world, {
            fn batch_format() -> u32 {
                $crate::__private::BATCH_FORMAT
            }
            fn process_batch(
                batch: ::std::vec::Vec<u8>,
            ) -> ::std::vec::Vec<$crate::__private::MessageOutcome> {
                __HEKA_PLUGIN.with(|s| {
                    $crate::__private::filter_batch(
                        s,
                        batch,
                        <$ty as $crate::Filter>::process_message,
                    )
                })
            }
            fn timer_event(ns: i64) -> $crate::__private::Outcome {
                __HEKA_PLUGIN.with(|s| {
                    $crate::__private::timer_event(s, ns, <$ty as $crate::Filter>::timer_event)
                })
            }
        });
    };
}

/// Exports an [`Encoder`](crate::Encoder) implementation as the component's encoder world.
#[macro_export]
macro_rules! export_encoder {
    ($ty:ty) => {
        $crate::__heka_export!($ty, $crate::Encoder, encoder, export_encoder_world, {
            fn encode(msg: ::std::vec::Vec<u8>) -> $crate::__private::Outcome {
                __HEKA_PLUGIN
                    .with(|s| $crate::__private::encode(s, msg, <$ty as $crate::Encoder>::encode))
            }
        });
    };
}

/// Exports a [`Decoder`](crate::Decoder) implementation as the component's decoder world.
#[macro_export]
macro_rules! export_decoder {
    ($ty:ty) => {
        $crate::__heka_export!($ty, $crate::Decoder, decoder, export_decoder_world, {
            fn decode(
                msg: ::std::vec::Vec<u8>,
                raw: ::core::option::Option<::std::vec::Vec<u8>>,
            ) -> $crate::__private::decoder::Decoded {
                __HEKA_PLUGIN.with(|s| {
                    $crate::__private::decode(s, msg, raw, <$ty as $crate::Decoder>::decode)
                })
            }
        });
    };
}
