//! The label values of the stats: a plugin's kind and state, why it was terminated,
//! and which sandbox engine runs it. Each has the one spelling the metrics, the
//! status JSON and the dashboard use (`as_str`).

/// The plugin kinds, as the `kind` label says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    Input,
    Splitter,
    Decoder,
    Filter,
    Encoder,
    Output,
}

impl PluginKind {
    /// The label value (`input`, `filter`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Input => "input",
            PluginKind::Splitter => "splitter",
            PluginKind::Decoder => "decoder",
            PluginKind::Filter => "filter",
            PluginKind::Encoder => "encoder",
            PluginKind::Output => "output",
        }
    }
}

/// Where a plugin is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginState {
    /// Registered, thread not started yet.
    Starting,
    /// Its thread runs.
    Running,
    /// Stopped on request (shutdown) or its input finished.
    Stopped,
    /// Terminated by an error, a limit, a trap or a panic.
    Terminated,
}

impl PluginState {
    /// The name the JSON and the pages use.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::Starting => "starting",
            PluginState::Running => "running",
            PluginState::Stopped => "stopped",
            PluginState::Terminated => "terminated",
        }
    }

    pub(super) fn from_u8(v: u8) -> PluginState {
        match v {
            1 => PluginState::Running,
            2 => PluginState::Stopped,
            3 => PluginState::Terminated,
            _ => PluginState::Starting,
        }
    }
}

/// Why a plugin was terminated, in the fixed set the `reason` label may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminationReason {
    MemoryLimit,
    InstructionLimit,
    OutputLimit,
    Trap,
    Deadline,
    FatalReturn,
    Slow,
    Panic,
}

impl TerminationReason {
    /// Every reason, in label order.
    pub const ALL: [TerminationReason; 8] = [
        TerminationReason::MemoryLimit,
        TerminationReason::InstructionLimit,
        TerminationReason::OutputLimit,
        TerminationReason::Trap,
        TerminationReason::Deadline,
        TerminationReason::FatalReturn,
        TerminationReason::Slow,
        TerminationReason::Panic,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminationReason::MemoryLimit => "memory_limit",
            TerminationReason::InstructionLimit => "instruction_limit",
            TerminationReason::OutputLimit => "output_limit",
            TerminationReason::Trap => "trap",
            TerminationReason::Deadline => "deadline",
            TerminationReason::FatalReturn => "fatal_return",
            TerminationReason::Slow => "slow",
            TerminationReason::Panic => "panic",
        }
    }

    /// Classifies a termination's text. The engines' wordings are the source until
    /// the sandbox contract hands a typed limit over ([`super::PluginStats::terminated_with`]
    /// takes the class directly then); anything unrecognised is a fatal return.
    pub fn classify(text: &str) -> TerminationReason {
        let t = text.to_ascii_lowercase();
        if t.contains("panicked") {
            TerminationReason::Panic
        } else if t.contains("memory") {
            TerminationReason::MemoryLimit
        } else if t.contains("instruction") || t.contains("fuel") {
            TerminationReason::InstructionLimit
        } else if t.contains("output") && t.contains("limit") {
            TerminationReason::OutputLimit
        } else if t.contains("wall-clock") || t.contains("deadline") || t.contains("interrupt") {
            TerminationReason::Deadline
        } else if t.contains("trap") || t.contains("unreachable") {
            TerminationReason::Trap
        } else {
            TerminationReason::FatalReturn
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// The sandbox engine behind a plugin, as the `engine` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Wasm,
    Lua,
}

impl Engine {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Wasm => "wasm",
            Engine::Lua => "lua",
        }
    }
}
