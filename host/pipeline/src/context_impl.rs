//! The runner-side state behind [`crate::InputContext`] and [`crate::FilterContext`].

use heka_message::Message;

use crate::ack::Ack;
use crate::context::InjectError;
use crate::plugin::{Decoder, PluginError};
use crate::split::SplitRunner;

pub(crate) struct InputInner {}

impl InputInner {
    pub(crate) fn new_message(&self, _logger: &str, _hostname: &str) -> Message {
        todo!()
    }
    pub(crate) fn new_split_runner(&self) -> SplitRunner {
        todo!()
    }
    pub(crate) fn new_decoder(&self) -> Option<Box<dyn Decoder>> {
        todo!()
    }
    pub(crate) fn deliver(
        &self,
        _msg: Message,
        _raw: Option<&[u8]>,
        _decoder: Option<&mut (dyn Decoder + 'static)>,
        _ack: Option<Ack>,
    ) -> Result<(), PluginError> {
        todo!()
    }
    pub(crate) fn max_message_size(&self) -> usize {
        todo!()
    }
}

pub(crate) struct FilterInner {}

impl FilterInner {
    pub(crate) fn name(&self) -> &str {
        todo!()
    }
    pub(crate) fn hostname(&self) -> &str {
        todo!()
    }
    pub(crate) fn new_message(&self) -> Message {
        todo!()
    }
    pub(crate) fn inject(&mut self, _msg: Message) -> Result<(), InjectError> {
        todo!()
    }
    pub(crate) fn begin_message(&mut self, _index: usize) {
        todo!()
    }
    pub(crate) fn message_failed(&mut self, _index: usize, _reason: String) {
        todo!()
    }
}
