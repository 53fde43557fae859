//! The WASI a guest gets: a locked-down context, and a linker in which no import the
//! guest can reach waits.
//!
//! Guests are built for `wasm32-wasip2`, so Rust's std imports WASI preview 2, and
//! the linker provides all of it (`wasmtime_wasi::p2::add_to_linker_sync`). A guest's
//! call is bounded by fuel and by its wall-clock cap, but neither fires while the
//! guest waits inside a host function: that is host code. So every import that can
//! wait is either unreachable or refused here:
//!
//! | import | why it cannot wait |
//! | --- | --- |
//! | `wasi:io/poll.poll`, `[method]pollable.block` | replaced: answered at once when a pollable is ready, else refused (a trap) |
//! | `wasi:clocks/monotonic-clock.subscribe-*` | only makes a pollable; waiting on it is `poll`/`block` (`std::thread::sleep` ends there) |
//! | `wasi:io/streams` `blocking-*` methods | replaced: run only when the stream is ready now, else refused |
//! | `wasi:cli/stdin` | closed: reads end at once |
//! | `wasi:cli/stdout`, `stderr` | discarded: writes never wait (guests log through `log`) |
//! | `wasi:filesystem/*` | no preopened directory, so no descriptor to wait on |
//! | `wasi:sockets/*` | TCP, UDP and name lookup are off: sockets cannot be made |
//!
//! A refusal is a trap whose reason names the import ([`BlockingRefused`]), e.g.
//! "blocking WASI call wasi:io/poll.poll refused"; the plugin is terminated with it.
//! Nothing in Heka's sandbox API waits, so a plugin that asks to is broken or hostile.
//! Refusing (rather than waiting up to the call's cap) keeps the plugin's input from
//! stalling and keeps every wait out of the host.

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::io::poll::{self, HostPollable};
use wasmtime_wasi::p2::bindings::sync::io::streams::{
    self, HostInputStream, HostOutputStream, InputStream, OutputStream,
};
use wasmtime_wasi::p2::{DynPollable, StreamError, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiView};

/// The trap of a guest that asked to wait in a WASI call.
#[derive(Debug, thiserror::Error)]
#[error("blocking WASI call {import} refused (a sandbox call may not wait)")]
pub(crate) struct BlockingRefused {
    /// The import, as `interface.function`.
    pub(crate) import: &'static str,
}

/// A guest's WASI context: no preopened directories, no environment, no arguments, no
/// network, stdin closed, stdout/stderr discarded.
pub(crate) fn locked_down_ctx() -> WasiCtx {
    // The builder's defaults are already closed stdin and discarding stdout/stderr
    // with nothing preopened; the network switches are explicit.
    WasiCtxBuilder::new()
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

/// Links WASI preview 2 into `linker`, with the waiting imports replaced.
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    let linked = poll::add_to_linker::<T, NoWait>(linker, |t| NoWaitIo(t.ctx().table))
        .and_then(|()| streams::add_to_linker::<T, NoWait>(linker, |t| NoWaitIo(t.ctx().table)));
    linker.allow_shadowing(false);
    linked
}

/// The replacement `wasi:io` host: wasmtime-wasi's own, except that it never waits.
struct NoWaitIo<'a>(&'a mut ResourceTable);

struct NoWait;

impl HasData for NoWait {
    type Data<'a> = NoWaitIo<'a>;
}

fn refused(import: &'static str) -> wasmtime::Error {
    BlockingRefused { import }.into()
}

fn stream_refused(import: &'static str) -> StreamError {
    StreamError::Trap(refused(import))
}

impl NoWaitIo<'_> {
    /// Whether `pollable` is ready now (never waits).
    fn ready_now(&mut self, pollable: &Resource<DynPollable>) -> wasmtime::Result<bool> {
        HostPollable::ready(self.0, Resource::new_borrow(pollable.rep()))
    }

    /// Whether a stream's readiness pollable (made by `subscribe`) is ready now.
    fn subscribed_ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        let ready = self.ready_now(&pollable);
        HostPollable::drop(self.0, pollable)?;
        ready
    }

    fn input_ready(&mut self, stream: &Resource<InputStream>) -> wasmtime::Result<bool> {
        let p = HostInputStream::subscribe(self.0, Resource::new_borrow(stream.rep()))?;
        self.subscribed_ready(p)
    }

    fn output_ready(&mut self, stream: &Resource<OutputStream>) -> wasmtime::Result<bool> {
        let p = HostOutputStream::subscribe(self.0, Resource::new_borrow(stream.rep()))?;
        self.subscribed_ready(p)
    }

    /// `Ok` when `stream` is ready now, else the refusal of `import`.
    fn input_or_refuse(
        &mut self,
        stream: &Resource<InputStream>,
        import: &'static str,
    ) -> StreamResult<()> {
        ready_or_refuse(self.input_ready(stream), import)
    }

    fn output_or_refuse(
        &mut self,
        stream: &Resource<OutputStream>,
        import: &'static str,
    ) -> StreamResult<()> {
        ready_or_refuse(self.output_ready(stream), import)
    }
}

fn ready_or_refuse(ready: wasmtime::Result<bool>, import: &'static str) -> StreamResult<()> {
    match ready {
        Ok(true) => Ok(()),
        Ok(false) => Err(stream_refused(import)),
        Err(e) => Err(StreamError::Trap(e)),
    }
}

impl poll::Host for NoWaitIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        if pollables.is_empty() {
            // wasmtime-wasi's own answer (a trap) for an empty list.
            return poll::Host::poll(self.0, pollables);
        }
        let mut ready = Vec::new();
        for (i, p) in pollables.iter().enumerate() {
            if self.ready_now(p)? {
                ready.push(u32::try_from(i)?);
            }
        }
        if ready.is_empty() {
            return Err(refused("wasi:io/poll.poll"));
        }
        Ok(ready)
    }
}

impl HostPollable for NoWaitIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        HostPollable::ready(self.0, pollable)
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        if self.ready_now(&pollable)? {
            Ok(())
        } else {
            Err(refused("wasi:io/poll.[method]pollable.block"))
        }
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        HostPollable::drop(self.0, pollable)
    }
}

impl streams::Host for NoWaitIo<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.0, err)
    }
}

impl HostInputStream for NoWaitIo<'_> {
    fn drop(&mut self, stream: Resource<InputStream>) -> wasmtime::Result<()> {
        HostInputStream::drop(self.0, stream)
    }

    fn read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        HostInputStream::read(self.0, stream, len)
    }

    fn blocking_read(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        self.input_or_refuse(
            &stream,
            "wasi:io/streams.[method]input-stream.blocking-read",
        )?;
        HostInputStream::blocking_read(self.0, stream, len)
    }

    fn skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        HostInputStream::skip(self.0, stream, len)
    }

    fn blocking_skip(&mut self, stream: Resource<InputStream>, len: u64) -> StreamResult<u64> {
        self.input_or_refuse(
            &stream,
            "wasi:io/streams.[method]input-stream.blocking-skip",
        )?;
        HostInputStream::blocking_skip(self.0, stream, len)
    }

    fn subscribe(
        &mut self,
        stream: Resource<InputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostInputStream::subscribe(self.0, stream)
    }
}

impl HostOutputStream for NoWaitIo<'_> {
    fn drop(&mut self, stream: Resource<OutputStream>) -> wasmtime::Result<()> {
        HostOutputStream::drop(self.0, stream)
    }

    fn check_write(&mut self, stream: Resource<OutputStream>) -> StreamResult<u64> {
        HostOutputStream::check_write(self.0, stream)
    }

    fn write(&mut self, stream: Resource<OutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        HostOutputStream::write(self.0, stream, bytes)
    }

    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<OutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        self.output_or_refuse(
            &stream,
            "wasi:io/streams.[method]output-stream.blocking-write-and-flush",
        )?;
        HostOutputStream::blocking_write_and_flush(self.0, stream, bytes)
    }

    fn flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        HostOutputStream::flush(self.0, stream)
    }

    fn blocking_flush(&mut self, stream: Resource<OutputStream>) -> StreamResult<()> {
        self.output_or_refuse(
            &stream,
            "wasi:io/streams.[method]output-stream.blocking-flush",
        )?;
        HostOutputStream::blocking_flush(self.0, stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<OutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostOutputStream::subscribe(self.0, stream)
    }

    fn write_zeroes(&mut self, stream: Resource<OutputStream>, len: u64) -> StreamResult<()> {
        HostOutputStream::write_zeroes(self.0, stream, len)
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<OutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        self.output_or_refuse(
            &stream,
            "wasi:io/streams.[method]output-stream.blocking-write-zeroes-and-flush",
        )?;
        HostOutputStream::blocking_write_zeroes_and_flush(self.0, stream, len)
    }

    fn splice(
        &mut self,
        dst: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        HostOutputStream::splice(self.0, dst, src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<OutputStream>,
        src: Resource<InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        const IMPORT: &str = "wasi:io/streams.[method]output-stream.blocking-splice";
        self.output_or_refuse(&dst, IMPORT)?;
        self.input_or_refuse(&src, IMPORT)?;
        HostOutputStream::blocking_splice(self.0, dst, src, len)
    }
}
