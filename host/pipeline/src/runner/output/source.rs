//! Where an output runner's messages come from: its channel from the router, or, for
//! a buffered output (`use_buffering`), its disk queue, which a writer thread
//! ([`super::disk_writer`]) fills from that channel.
//!
//! Both look the same to the loop: [`Source::next`] never blocks, [`Source::has_ready`]
//! says whether more can be taken now, and the loop waits on [`Source::channel`] or
//! [`Source::notify`] (whichever the source has; the other is `never()`) when not.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, never};
use heka_message::Message;

use crate::buffer::queue::{Cursor, Framed, QueueReader, Record};
use crate::pack::{Acks, Pack};
use crate::router::{Batch, Inbox};
use crate::settings::{OutputOptions, Settings};
use crate::spec::PipelineError;

use super::disk_writer::{self, WriterHandle};
use crate::runner::Shared;

/// One message to deliver: its acks (channel) or its queue position (disk).
pub(super) struct Item {
    pub msg: Arc<Message>,
    pub acks: Acks,
    /// Position just past this message in the disk queue.
    pub cursor: Option<Cursor>,
    /// The queue record's bytes, when they are what the ProtobufEncoder makes of
    /// `msg` (see [`Framed`]).
    pub framed: Option<Framed>,
}

pub(super) enum Source {
    Channel(Inbox),
    Disk(Disk),
}

/// A buffered output's reading side.
pub(super) struct Disk {
    reader: QueueReader,
    /// The writer pokes the runner after each batch it made durable.
    notify: Receiver<()>,
    writer: Option<WriterHandle>,
    /// Something may be queued that was not read yet.
    more: bool,
    /// A read was abandoned (stopping): nothing more may be read or committed.
    gave_up: bool,
}

impl Source {
    /// The channel itself, or, with `use_buffering`, the disk queue (opened here)
    /// with its writer thread started on the channel.
    pub(super) fn open(
        name: &Arc<str>,
        queue: Receiver<Batch>,
        options: &OutputOptions,
        settings: &Settings,
        shared: &Arc<Shared>,
    ) -> Result<Source, PipelineError> {
        let Some(buffering) = &options.buffering else {
            return Ok(Source::Channel(Inbox::new(queue)));
        };
        let dir = buffering.queue_dir(name);
        let (writer, reader) =
            crate::buffer::queue::open(&dir, buffering, settings.max_message_size).map_err(
                |source| PipelineError::Buffer {
                    output: name.to_string(),
                    source,
                },
            )?;
        let (notify_tx, notify_rx): (Sender<()>, _) = crossbeam_channel::bounded(1);
        let writer = disk_writer::spawn(
            name.clone(),
            queue,
            writer,
            buffering.full_action,
            buffering.max_buffer_size,
            notify_tx,
            shared.clone(),
        )?;
        Ok(Source::Disk(Disk {
            reader,
            notify: notify_rx,
            writer: Some(writer),
            // What an earlier run left queued goes first.
            more: true,
            gave_up: false,
        }))
    }

    pub(super) fn is_buffered(&self) -> bool {
        matches!(self, Source::Disk(_))
    }

    /// The router's channel, to wait on (`never()` for a buffered output).
    pub(super) fn channel(&self) -> Receiver<Batch> {
        match self {
            Source::Channel(inbox) => inbox.receiver().clone(),
            Source::Disk(_) => never(),
        }
    }

    /// The disk writer's pokes, to wait on (`never()` for an unbuffered output).
    pub(super) fn notify(&self) -> Receiver<()> {
        match self {
            Source::Channel(_) => never(),
            Source::Disk(disk) => disk.notify.clone(),
        }
    }

    /// A batch the loop received from [`Source::channel`].
    pub(super) fn push(&mut self, batch: Batch) {
        if let Source::Channel(inbox) = self {
            inbox.push(batch);
        }
    }

    /// The writer poked: read the queue again.
    pub(super) fn poked(&mut self) {
        if let Source::Disk(disk) = self {
            disk.more = true;
        }
    }

    /// Whether [`Source::next`] may yield something now.
    pub(super) fn has_ready(&self) -> bool {
        match self {
            Source::Channel(inbox) => !inbox.is_empty(),
            Source::Disk(disk) => disk.more && !disk.gave_up,
        }
    }

    /// The next message, without waiting.
    pub(super) fn next(&mut self) -> Result<Option<Item>, String> {
        match self {
            Source::Channel(inbox) => Ok(inbox.try_recv().map(|Pack { msg, acks, .. }| Item {
                msg,
                acks,
                cursor: None,
                framed: None,
            })),
            Source::Disk(disk) => {
                if disk.gave_up || !disk.more {
                    return Ok(None);
                }
                match disk.reader.next() {
                    Ok(Some(Record {
                        msg,
                        cursor,
                        framed,
                    })) => Ok(Some(Item {
                        msg: Arc::new(msg),
                        acks: Acks::new(),
                        cursor: Some(cursor),
                        framed,
                    })),
                    Ok(None) => {
                        disk.more = false;
                        Ok(None)
                    }
                    Err(e) => Err(format!("cannot read its disk buffer: {e}")),
                }
            }
        }
    }

    /// Stopping and the output is not taking messages: nothing more is read, and
    /// nothing is committed past what was already delivered (the rest stays on disk).
    pub(super) fn give_up(&mut self) {
        if let Source::Disk(disk) = self {
            disk.gave_up = true;
        }
    }

    /// Whether reading stopped for good ([`Source::give_up`]).
    pub(super) fn gave_up(&self) -> bool {
        matches!(self, Source::Disk(disk) if disk.gave_up)
    }

    /// Everything up to `cursor` (`records` of them) is delivered (the window never
    /// releases past a message it gave up on, so this holds after [`Source::give_up`]).
    pub(super) fn commit(&mut self, cursor: Cursor, records: u64) {
        if let Source::Disk(disk) = self {
            disk.reader.commit(cursor, records);
        }
    }

    /// Shutdown begins: a buffered output's writer persists what the router already
    /// handed over and stops; the queue is then read to its end once more.
    pub(super) fn stop_writer(&mut self, name: &str) {
        if let Source::Disk(disk) = self
            && let Some(writer) = disk.writer.take()
        {
            writer.finish.raise();
            if writer.thread.join().is_err() {
                tracing::error!(output = %name, "the disk buffer's writer thread panicked");
            }
            disk.more = true;
        }
    }

    /// The runner ends: abandons what is still in the channel (its buffer outlives
    /// the receiver), or persists the queue position for the next start.
    pub(super) fn close(&mut self, name: &str) {
        self.stop_writer(name);
        match self {
            Source::Channel(inbox) => {
                let abandoned = inbox.abandon_all();
                if abandoned > 0 {
                    tracing::warn!(output = %name, abandoned, "output stopped before delivering everything queued");
                }
            }
            Source::Disk(disk) => {
                let left = disk.reader.queued_bytes();
                if left > 0 {
                    tracing::info!(output = %name, queued_bytes = left, "undelivered messages stay in the disk buffer");
                }
                disk.reader.checkpoint();
            }
        }
    }
}
