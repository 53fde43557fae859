//! One Lua 5.1 state with Heka's environment and limits, and the mapping of every way
//! a call can end to Heka's outcomes.
//!
//! Environment (reference §9): the base library minus `collectgarbage, dofile, load,
//! loadfile, loadstring, newproxy, print`; `string`, `table`, `math`; `os` with only
//! `time`, `date` (forced to UTC, as Heka forced TZ) and `clock`; no `io`, `debug`,
//! `coroutine` or `package`; our own `require` ([`crate::api`]).
//!
//! Limits: `memory_limit` is mlua's allocator cap (Lua raises "not enough memory");
//! `instruction_limit` is a count hook firing every [`HOOK_STEP`] instructions that
//! raises once the call's count passes the limit; `output_limit` is checked by the API
//! functions that grow the output buffer or inject. A broken limit is also recorded in
//! [`State::fatal`], so a script that catches the error with `pcall` is terminated all
//! the same. Any uncaught error terminates the plugin (Heka closes the Lua state);
//! later calls fail at once with the first reason.

use std::path::Path;

use heka_pipeline::PluginError;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Value, VmState};

use heka_pipeline::sandbox::{
    CallKind, Emitted, Injection, LimitExceeded, SandboxError, SandboxLimits,
};

use crate::LuaConfig;
use crate::state::{HOOK_STEP, Kind, Raw, RawState, START_INSTRUCTIONS, Slot, State, error_text};

/// How a script's entry point ended, before the plugin kind reads it.
#[derive(Debug, PartialEq)]
pub(crate) enum Status {
    Ok,
    Failed(String),
    Skip,
    Fatal(String),
}

/// One loaded script.
pub(crate) struct Runtime {
    lua: Lua,
    name: String,
    path: String,
    limits: SandboxLimits,
    kind: Kind,
    terminated: Option<String>,
    /// Entry points looked up once: (name, function).
    entries: Vec<(&'static str, mlua::Function)>,
}

impl Runtime {
    /// Creates the state, loads the script at `path` and runs its top level, then
    /// restores preserved data when configured.
    pub(crate) fn load(path: &Path, cfg: &LuaConfig, kind: Kind) -> Result<Runtime, SandboxError> {
        let display = path.display().to_string();
        let source = std::fs::read(path).map_err(|source| SandboxError::Read {
            path: display.clone(),
            source,
        })?;
        let runtime = Runtime::from_source(&display, &source, cfg, kind)?;
        runtime.start_call(cfg.spec.limits.instruction_limit);
        Ok(runtime)
    }

    /// Creates the state and runs `source` (named `path` in messages).
    pub(crate) fn from_source(
        path: &str,
        source: &[u8],
        cfg: &LuaConfig,
        kind: Kind,
    ) -> Result<Runtime, SandboxError> {
        let state_err = |e: mlua::Error| SandboxError::Engine(format!("lua state: {e}"));
        let limits = &cfg.spec.limits;
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS,
            LuaOptions::default(),
        )
        .map_err(state_err)?;
        lua.set_app_data(State {
            kind,
            msg: Slot::Empty,
            raw: Vec::new(),
            raw_state: RawState::Stale,
            next_field: 0,
            emitted: Emitted::new(&cfg.spec.limits),
            at: 0,
            tz: None,
            fatal: None,
            instruction_limit: START_INSTRUCTIONS.max(limits.instruction_limit),
            instructions: 0,
            config: cfg.spec.config.clone(),
            module_directory: cfg.module_directory.clone(),
            decode_null: false,
            library_tables: Vec::new(),
        });
        setup_environment(&lua, kind).map_err(state_err)?;
        let step = match limits.instruction_limit {
            0 => HOOK_STEP,
            n => n.min(HOOK_STEP),
        };
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(step as u32),
            move |lua, _debug| charge_instructions(lua, step).map(|()| VmState::Continue),
        )
        .map_err(state_err)?;
        // LPeg's matcher runs outside the Lua VM: its steps count as instructions.
        lua.set_app_data(heka_lpeg::StepHook(Box::new(charge_instructions)));
        if limits.memory_limit > 0 {
            lua.set_memory_limit(limits.memory_limit)
                .map_err(state_err)?;
        }
        // `@path` makes Lua name the file in messages ("path:line: ...").
        let chunk = lua.load(source).set_name(format!("@{path}"));
        let function = match chunk.into_function() {
            Ok(f) => f,
            Err(e) => {
                return Err(SandboxError::Compile {
                    path: path.to_owned(),
                    reason: format!("syntax error: {}", error_text(&e)),
                });
            }
        };
        let runtime = Runtime {
            lua,
            name: cfg.spec.name.clone(),
            path: path.to_owned(),
            limits: limits.clone(),
            kind,
            terminated: None,
            entries: Vec::new(),
        };
        if let Err(e) = function.call::<()>(()) {
            let reason = runtime.failure_reason("", &e);
            return Err(SandboxError::Init {
                path: path.to_owned(),
                reason,
            });
        }
        Ok(runtime)
    }

    /// Arms the per-call budget for calls from now on (after start-up work).
    fn start_call(&self, instruction_limit: u64) {
        if let Some(mut s) = self.lua.app_data_mut::<State>() {
            s.instruction_limit = instruction_limit;
        }
    }

    pub(crate) fn lua(&self) -> &Lua {
        &self.lua
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's limits.
    pub(crate) fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// The last call's largest output and the share of `instruction_limit` its last
    /// message used (0 when unlimited).
    pub(crate) fn last_call(&self) -> (usize, f64) {
        let Some(s) = self.lua.app_data_ref::<State>() else {
            return (0, 0.0);
        };
        let budget = match self.limits.instruction_limit {
            0 => 0.0,
            limit => s.instructions as f64 / limit as f64,
        };
        (s.emitted.largest_output(), budget.min(1.0))
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.is_some()
    }

    /// The state, for the plugin wrappers between calls.
    pub(crate) fn state(&self) -> mlua::AppDataRefMut<'_, State> {
        // Set in `from_source` and never removed; borrowed only outside calls here.
        self.lua
            .app_data_mut::<State>()
            .expect("heka-lua state is set at creation")
    }

    /// Calls the global function `func` with `args`, the message in `slot` lent for the
    /// call. `Err` is fatal (and the runtime terminated); `Ok` holds the results.
    pub(crate) fn call<R: mlua::FromLuaMulti>(
        &mut self,
        func: &'static str,
        args: impl mlua::IntoLuaMulti,
        slot: Slot,
        raw: Raw<'_>,
    ) -> Result<R, PluginError> {
        if let Some(reason) = &self.terminated {
            return Err(PluginError::Fatal(format!("terminated earlier: {reason}")));
        }
        let Some(index) = self.entry(func) else {
            return Err(self.terminate(format!("{func}() function was not found")));
        };
        {
            let mut s = self.state();
            s.msg = slot;
            s.raw_state = match raw {
                Raw::Encode => RawState::Stale,
                Raw::Absent => RawState::Absent,
                Raw::Given(bytes) => {
                    s.raw.clear();
                    s.raw.extend_from_slice(bytes);
                    RawState::Valid
                }
            };
            s.next_field = 0;
            s.fatal = None;
            s.instructions = 0;
        }
        // Whatever happens (a panic unwinding included), the lent message does not
        // outlive the call.
        struct ClearSlot<'a>(&'a Lua);
        impl Drop for ClearSlot<'_> {
            fn drop(&mut self) {
                if let Ok(Some(mut s)) = self.0.try_app_data_mut::<State>() {
                    clear_lent(&mut s);
                }
            }
        }
        let guard = ClearSlot(&self.lua);
        let result = self.entries[index].1.call::<R>(args);
        let fatal = {
            let mut s = self.state();
            clear_lent(&mut s);
            s.fatal
                .take()
                .or_else(|| s.emitted.fatal().map(|l| l.to_string()))
        };
        // Cleared just above.
        std::mem::forget(guard);
        match (fatal, result) {
            (Some(reason), _) => Err(self.terminate(reason)),
            (None, Ok(values)) => Ok(values),
            (None, Err(e)) => {
                let reason = self.failure_reason(func, &e);
                Err(self.terminate(reason))
            }
        }
    }

    /// The index in `entries` of the global function `func`, looked up once (scripts
    /// define their entry points at load time).
    fn entry(&mut self, func: &'static str) -> Option<usize> {
        if let Some(i) = self.entries.iter().position(|(name, _)| *name == func) {
            return Some(i);
        }
        match self.lua.globals().raw_get::<Value>(func) {
            Ok(Value::Function(f)) => {
                self.entries.push((func, f));
                Some(self.entries.len() - 1)
            }
            _ => None,
        }
    }

    /// Heka's wording for an uncaught error in `func` (empty: the top level).
    fn failure_reason(&self, func: &str, e: &mlua::Error) -> String {
        if let Some(fatal) = self
            .lua
            .app_data_mut::<State>()
            .and_then(|mut s| s.fatal.take())
        {
            return fatal;
        }
        if is_memory_error(e) {
            return LimitExceeded::Memory(self.limits.memory_limit).to_string();
        }
        let text = error_text(e);
        if func.is_empty() {
            text
        } else {
            format!("{func}() {text}")
        }
    }

    /// Marks the plugin terminated; later calls fail at once.
    pub(crate) fn terminate(&mut self, reason: String) -> PluginError {
        tracing::error!(plugin = %self.name, script = %self.path, %reason, "lua sandbox terminated");
        self.terminated = Some(reason.clone());
        PluginError::Fatal(reason)
    }

    /// Reads `process_message`'s results: `status[, error]`.
    pub(crate) fn status(&mut self, (status, err): (Value, Value)) -> Status {
        let status = match status {
            Value::Integer(i) => i,
            Value::Number(n) if n.is_finite() => n as i64,
            _ => {
                return Status::Fatal("process_message() must return a numeric status code".into());
            }
        };
        let err = match err {
            Value::Nil => String::new(),
            Value::String(s) => s.to_string_lossy(),
            _ => {
                return Status::Fatal(
                    "process_message() must return a nil or string error message".into(),
                );
            }
        };
        match status {
            0 => Status::Ok,
            -2 if self.kind == Kind::Encoder => Status::Skip,
            s if s < 0 => Status::Failed(err),
            s if err.is_empty() => Status::Fatal(format!("process_message() returned {s}")),
            s => Status::Fatal(format!("process_message() returned {s}: {err}")),
        }
    }

    /// A status as the pipeline's result; `Fatal` also terminates the runtime.
    pub(crate) fn outcome(&mut self, status: Status) -> Result<(), PluginError> {
        match status {
            Status::Ok => Ok(()),
            Status::Failed(reason) => Err(PluginError::Failed(reason)),
            Status::Skip => Err(PluginError::Skip),
            Status::Fatal(reason) => Err(self.terminate(reason)),
        }
    }

    /// Starts a call (or a batch of calls) of `kind`: see [`Emitted::begin_call`].
    pub(crate) fn begin(&mut self, kind: CallKind) {
        self.begin_batch(kind, 1);
    }

    /// Starts a call of `kind` over `units` messages (a filter's batch: injections are
    /// counted per message, `at` being the message's index).
    pub(crate) fn begin_batch(&mut self, kind: CallKind, units: usize) {
        let mut s = self.state();
        s.emitted.begin_batch(kind, units);
        s.at = 0;
    }

    /// The injections of the last call.
    pub(crate) fn take_injections(&mut self) -> Vec<Injection> {
        self.state().emitted.take_injections()
    }
}

/// What every Lua plugin kind forwards from the contract's
/// [`heka_pipeline::sandbox::Engine`].
macro_rules! forward_engine {
    ($ty:ty) => {
        impl heka_pipeline::sandbox::Engine for $ty {
            fn name(&self) -> &str {
                self.runtime.name()
            }
            fn take_injections(&mut self) -> Vec<heka_pipeline::sandbox::Injection> {
                self.runtime.take_injections()
            }
            fn terminate(&mut self, reason: String) -> heka_pipeline::PluginError {
                self.runtime.terminate(reason)
            }
            fn is_terminated(&self) -> bool {
                self.runtime.is_terminated()
            }
            fn memory_used(&self) -> usize {
                self.runtime.lua().used_memory()
            }
            fn identity(
                &self,
            ) -> (
                heka_pipeline::stats::Engine,
                &heka_pipeline::sandbox::SandboxLimits,
            ) {
                (heka_pipeline::stats::Engine::Lua, self.runtime.limits())
            }
            fn last_call(&self) -> (usize, f64) {
                self.runtime.last_call()
            }
            // Heka's Lua data file (global variables as a script), for every kind.
            fn save_state(&mut self) -> Result<Option<Vec<u8>>, String> {
                $crate::preserve::save(self.runtime.lua()).map(Some)
            }
            fn restore_state(&mut self, data: &[u8]) -> Result<(), String> {
                $crate::preserve::restore(self.runtime.lua(), data)
            }
        }
    };
}
pub(crate) use forward_engine;

/// Drops the message lent for a call (a decoder's or written one stays for the
/// wrapper to take).
fn clear_lent(s: &mut State) {
    if matches!(s.msg, Slot::Borrowed(_)) {
        s.msg = Slot::Empty;
    }
}

fn is_memory_error(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => is_memory_error(cause),
        mlua::Error::WithContext { cause, .. } => is_memory_error(cause),
        mlua::Error::RuntimeError(m) => m.contains("not enough memory"),
        _ => false,
    }
}

/// Adds `n` instructions to the call's count, failing once past `instruction_limit`:
/// the count hook's work, and LPeg's for its matching steps.
fn charge_instructions(lua: &Lua, n: u64) -> mlua::Result<()> {
    let Some(mut state) = lua.app_data_mut::<State>() else {
        return Ok(());
    };
    state.instructions = state.instructions.saturating_add(n);
    if state.instruction_limit > 0 && state.instructions >= state.instruction_limit {
        let reason = LimitExceeded::Instructions(state.instruction_limit).to_string();
        return Err(state.limit_exceeded(reason));
    }
    Ok(())
}

/// Removes what Heka's sandbox did not offer and installs the API.
fn setup_environment(lua: &Lua, kind: Kind) -> mlua::Result<()> {
    let g = lua.globals();
    for name in [
        "collectgarbage",
        "dofile",
        "load",
        "loadfile",
        "loadstring",
        "newproxy",
        "print",
        "gcinfo",
        "module",
        "require",
        "package",
        "coroutine",
        "io",
        "debug",
    ] {
        g.raw_set(name, Value::Nil)?;
    }
    let os: mlua::Table = g.raw_get("os")?;
    for name in [
        "getenv",
        "execute",
        "exit",
        "remove",
        "rename",
        "setlocale",
        "tmpname",
    ] {
        os.raw_set(name, Value::Nil)?;
    }
    crate::api::install_os(lua, &os)?;
    let cjson = crate::cjson::module(lua)?;
    let mut library_tables = vec![g.to_pointer() as usize, cjson.to_pointer() as usize];
    for name in ["string", "table", "math", "os"] {
        let t: mlua::Table = g.raw_get(name)?;
        library_tables.push(t.to_pointer() as usize);
        lua.set_named_registry_value(&format!("heka.lib.{name}"), t)?;
    }
    lua.set_named_registry_value("heka.lib.cjson", cjson)?;
    lua.set_named_registry_value("heka.loaded", lua.create_table()?)?;
    if let Some(mut s) = lua.app_data_mut::<State>() {
        s.library_tables = library_tables;
    }
    crate::api::install(lua, kind)?;
    install_pcall(lua)
}

/// `pcall` / `xpcall` hand scripts errors raised by the API as strings, as Heka's C
/// functions raised them (`luaL_error`); mlua raises them as userdata, which a script
/// would then fail to concatenate or return as its error message.
fn install_pcall(lua: &Lua) -> mlua::Result<()> {
    let to_text = lua.create_function(|_, v: Value| {
        Ok(match v {
            Value::Error(e) => error_text(&e),
            other => format!("{other:?}"),
        })
    })?;
    lua.load(
        r#"local to_text = ...
        local type, raw_pcall, raw_xpcall = type, pcall, xpcall
        local function fix(ok, ...)
            if ok then return ok, ... end
            local e = ...
            if type(e) == "userdata" then e = to_text(e) end
            return false, e
        end
        pcall = function(f, ...) return fix(raw_pcall(f, ...)) end
        xpcall = function(f, handler)
            return raw_xpcall(f, function(e)
                if type(e) == "userdata" then e = to_text(e) end
                return handler(e)
            end)
        end"#,
    )
    .set_name("=heka-pcall")
    .call::<()>(to_text)
}
