//! [`Emitted`]: everything a guest hands the host during calls — the `add_to_payload`
//! buffer and the injections of the current call — counted and bounded as it arrives.
//!
//! The bound, per plugin, whatever the guest does (engines record here, never in a
//! list of their own):
//! - the output buffer holds at most `output_limit` bytes;
//! - one injection holds at most `output_limit` bytes (plus its type and name, which
//!   are bounded by the same limit);
//! - a call holds at most: filters, `max_process_inject` injections per message of
//!   the batch (`max_timer_inject` for a timer event); encoders, ONE (only the last
//!   output is used, so an earlier one is dropped as the next arrives); decoders,
//!   [`MAX_DECODER_INJECT`].
//!
//! An injection past its count or size is refused with [`LimitExceeded`], and the
//! refusal is remembered ([`Emitted::fatal`]) so a guest that ignores the error is
//! terminated all the same.

use heka_message::Message;

use super::limits::SandboxLimits;
use crate::limit::{CallKind, InjectCounter, LimitExceeded};

/// An `inject_message` payload: protobuf bytes from a wasm guest, or a message a Lua
/// script built as a table.
#[derive(Debug)]
pub enum InjectedMessage {
    Encoded(Vec<u8>),
    Decoded(Message),
}

impl InjectedMessage {
    /// The message (Heka raises "protobuf unmarshal failed" on bad bytes).
    pub fn into_message(self) -> Result<Message, String> {
        match self {
            InjectedMessage::Decoded(m) => Ok(m),
            InjectedMessage::Encoded(bytes) => heka_message::decode_message(&bytes)
                .map_err(|e| format!("inject_message: protobuf unmarshal failed: {e}")),
        }
    }

    /// The protobuf bytes (an encoder's output).
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            InjectedMessage::Encoded(bytes) => bytes,
            InjectedMessage::Decoded(m) => {
                let mut out = Vec::new();
                heka_message::encode_message(&m, &mut out);
                out
            }
        }
    }
}

/// One injection, with the index (in the current batch) of the message that made it.
#[derive(Debug)]
pub enum Injection {
    /// `inject_payload`: the output buffer at that moment.
    Payload {
        at: u32,
        payload_type: String,
        payload_name: String,
        payload: Vec<u8>,
    },
    /// `inject_message`.
    Message { at: u32, msg: InjectedMessage },
}

impl Injection {
    /// The batch index of the message whose processing made this injection.
    pub fn at(&self) -> u32 {
        match self {
            Injection::Payload { at, .. } | Injection::Message { at, .. } => *at,
        }
    }
}

/// The output buffer and the current call's injections of one plugin.
#[derive(Debug)]
pub struct Emitted {
    limits: SandboxLimits,
    /// `add_to_payload` buffer; survives calls until `inject_payload` (Heka's behaviour).
    buffer: Vec<u8>,
    injections: Vec<Injection>,
    kind: CallKind,
    counter: InjectCounter,
    fatal: Option<LimitExceeded>,
    /// The largest injection of the current call, bytes (stats).
    largest: usize,
}

impl Emitted {
    pub fn new(limits: &SandboxLimits) -> Emitted {
        Emitted {
            limits: limits.clone(),
            buffer: Vec::new(),
            injections: Vec::new(),
            kind: CallKind::Start,
            counter: InjectCounter::new(limits.max_process_inject, limits.max_timer_inject),
            fatal: None,
            largest: 0,
        }
    }

    /// Starts a call of `kind`: the previous call's injections and refusal are cleared
    /// (the output buffer is kept, as in Heka).
    pub fn begin_call(&mut self, kind: CallKind) {
        self.begin_batch(kind, 1);
    }

    /// Starts a call of `kind` over `units` messages (a filter's batch).
    pub fn begin_batch(&mut self, kind: CallKind, units: usize) {
        self.injections.clear();
        self.kind = kind;
        self.counter.begin_batch(kind, units);
        self.fatal = None;
        self.largest = 0;
    }

    /// The plugin's `output_limit` (other bounded outputs, e.g. `cjson.encode`).
    pub fn output_limit(&self) -> usize {
        self.limits.output_limit
    }

    /// The largest injection (payload or encoded message) of the current call, bytes.
    pub fn largest_output(&self) -> usize {
        self.largest
    }

    /// The first limit the guest broke in this call, if any.
    pub fn fatal(&self) -> Option<&LimitExceeded> {
        self.fatal.as_ref()
    }

    /// The call's injections, in the order they were made.
    pub fn take_injections(&mut self) -> Vec<Injection> {
        std::mem::take(&mut self.injections)
    }

    /// Bytes held right now (buffer plus injections), for stats and tests.
    pub fn bytes_held(&self) -> usize {
        let inj: usize = self
            .injections
            .iter()
            .map(|i| match i {
                Injection::Payload { payload, .. } => payload.len(),
                Injection::Message {
                    msg: InjectedMessage::Encoded(b),
                    ..
                } => b.len(),
                Injection::Message { .. } => self.limits.output_limit,
            })
            .sum();
        self.buffer.len() + inj
    }

    fn refuse(&mut self, limit: LimitExceeded) -> LimitExceeded {
        if self.fatal.is_none() {
            self.fatal = Some(limit.clone());
        }
        limit
    }

    /// `add_to_payload`: appends to the output buffer, up to `output_limit` bytes.
    pub fn add_to_payload(&mut self, data: &[u8]) -> Result<(), LimitExceeded> {
        if self.buffer.len().saturating_add(data.len()) > self.limits.output_limit {
            return Err(self.refuse(LimitExceeded::Output(self.limits.output_limit)));
        }
        self.buffer.extend_from_slice(data);
        Ok(())
    }

    /// `inject_payload(type, name, data)`: appends `data`, then emits the buffer as
    /// one injection and clears it. An empty buffer injects nothing.
    pub fn inject_payload(
        &mut self,
        at: u32,
        payload_type: &str,
        payload_name: &str,
        data: &[u8],
    ) -> Result<(), LimitExceeded> {
        let header = payload_type.len().saturating_add(payload_name.len());
        if header > self.limits.output_limit {
            return Err(self.refuse(LimitExceeded::Output(self.limits.output_limit)));
        }
        let payload = if self.buffer.is_empty() {
            // The common case (the whole output in one call): no copy into the buffer.
            if data.len() > self.limits.output_limit {
                return Err(self.refuse(LimitExceeded::Output(self.limits.output_limit)));
            }
            if data.is_empty() {
                return Ok(());
            }
            data.to_vec()
        } else {
            self.add_to_payload(data)?;
            std::mem::take(&mut self.buffer)
        };
        self.record(Injection::Payload {
            at,
            payload_type: payload_type.to_owned(),
            payload_name: payload_name.to_owned(),
            payload,
        })
    }

    /// `inject_message` with protobuf bytes (checked against `output_limit`).
    pub fn inject_encoded(&mut self, at: u32, bytes: Vec<u8>) -> Result<(), LimitExceeded> {
        if bytes.len() > self.limits.output_limit {
            return Err(self.refuse(LimitExceeded::Output(self.limits.output_limit)));
        }
        self.record(Injection::Message {
            at,
            msg: InjectedMessage::Encoded(bytes),
        })
    }

    /// `inject_message` with a message built by the engine; `size` is its encoded
    /// size, checked against `output_limit` (Heka checked the encoded message).
    pub fn inject_decoded(
        &mut self,
        at: u32,
        msg: Message,
        size: usize,
    ) -> Result<(), LimitExceeded> {
        if size > self.limits.output_limit {
            return Err(self.refuse(LimitExceeded::Output(self.limits.output_limit)));
        }
        self.record(Injection::Message {
            at,
            msg: InjectedMessage::Decoded(msg),
        })
    }

    /// Counts an injection against the call's limit, then keeps it.
    fn record(&mut self, injection: Injection) -> Result<(), LimitExceeded> {
        if self.kind == CallKind::Encode {
            // Only the last output of an encoder is used: keep one.
            self.injections.clear();
        }
        if let Err(limit) = self.counter.count(injection.at()) {
            return Err(self.refuse(limit));
        }
        let size = match &injection {
            Injection::Payload { payload, .. } => payload.len(),
            Injection::Message {
                msg: InjectedMessage::Encoded(b),
                ..
            } => b.len(),
            Injection::Message { .. } => 0,
        };
        self.largest = self.largest.max(size);
        self.injections.push(injection);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(output: usize) -> SandboxLimits {
        SandboxLimits {
            output_limit: output,
            ..SandboxLimits::default()
        }
    }

    #[test]
    fn process_injections_are_counted_per_message_of_a_batch() {
        let mut e = Emitted::new(&limits(100));
        e.begin_batch(CallKind::Process, 2);
        e.inject_payload(0, "txt", "", b"a").unwrap();
        e.inject_payload(1, "txt", "", b"b").unwrap();
        let err = e.inject_payload(1, "txt", "", b"c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "exceeded InjectMessage count (1 per process_message)"
        );
        assert_eq!(e.fatal(), Some(&err));
        assert_eq!(e.take_injections().len(), 2);
    }

    /// A guest reports the index itself: going back, or past the batch, must not
    /// restart the count, so a call holds at most `units × max_process_inject`.
    #[test]
    fn a_guest_cannot_reset_the_count_with_made_up_indexes() {
        let mut e = Emitted::new(&limits(100));
        e.begin_batch(CallKind::Process, 3);
        let mut held = 0;
        for at in [0, 1, 0, 1, 2, 7, 1_000_000, 0, u32::MAX] {
            if e.inject_payload(at, "txt", "", b"x").is_ok() {
                held += 1;
            }
        }
        assert_eq!(held, 3);
        assert_eq!(e.take_injections().len(), 3);
    }

    #[test]
    fn timer_injections_stop_at_max_timer_inject() {
        let mut e = Emitted::new(&limits(100));
        e.begin_call(CallKind::Timer);
        for _ in 0..10 {
            e.inject_encoded(0, vec![1]).unwrap();
        }
        assert!(e.inject_encoded(0, vec![1]).is_err());
        assert_eq!(e.take_injections().len(), 10);
    }

    #[test]
    fn an_encoder_keeps_only_its_last_output() {
        let mut e = Emitted::new(&limits(100));
        e.begin_call(CallKind::Encode);
        for i in 0..1000u32 {
            e.inject_payload(0, "txt", "", &i.to_le_bytes()).unwrap();
            assert!(e.bytes_held() <= 4);
        }
        let last = e.take_injections();
        assert!(
            matches!(&last[..], [Injection::Payload { payload, .. }] if payload == &999u32.to_le_bytes())
        );
    }

    #[test]
    fn output_limit_bounds_the_buffer_and_each_injection() {
        let mut e = Emitted::new(&limits(4));
        e.begin_call(CallKind::Timer);
        e.add_to_payload(b"abc").unwrap();
        assert_eq!(
            e.add_to_payload(b"de").unwrap_err().to_string(),
            "output_limit exceeded (4 bytes)"
        );
        assert!(e.inject_encoded(0, vec![0; 5]).is_err());
        // Bytes are bytes: a payload that is not UTF-8 is kept as it is.
        e.inject_payload(0, "txt", "", b"\xff").unwrap();
        let inj = e.take_injections();
        assert!(matches!(&inj[..], [Injection::Payload { payload, .. }] if payload == b"abc\xff"));
    }

    #[test]
    fn nothing_is_injected_during_start_up_calls() {
        let mut e = Emitted::new(&limits(100));
        e.begin_call(CallKind::Start);
        assert!(e.inject_payload(0, "txt", "", b"x").is_err());
    }
}
