//! One instantiated plugin: its store, its limits, and the mapping of every way a
//! call can end to Heka's outcomes.
//!
//! Before each call: fuel = the call's budget ([`crate::SandboxConfig`]), the epoch
//! deadline = the wall-clock cap, the contract's [`Emitted`] told which kind of call
//! starts. After it: a trap, an exhausted budget, a refused memory growth or a limit
//! broken in a host call is `PluginError::Fatal(reason)` with the contract's wording
//! ([`LimitExceeded`]), and the instance stays terminated (a trapped instance may not
//! be entered again; Heka closes the Lua state the same way).

use heka_pipeline::PluginError;
use heka_pipeline::sandbox::{CallKind, Injection, LimitExceeded, SandboxError};
use wasmtime::component::Component;
use wasmtime::{Store, Trap};

use crate::bindings::Outcome;
use crate::deadline::{CallClock, StoppedAtShutdown};
use crate::host::HostState;
use crate::wasi::BlockingRefused;
use crate::{LoadedComponent, SandboxConfig, SandboxEngine};

/// A store plus the typed bindings `B` of one world.
pub(crate) struct Instance<B> {
    pub(crate) store: Store<HostState>,
    pub(crate) bindings: B,
    cfg: SandboxConfig,
    /// Arms each call's wall-clock cap (see `deadline`).
    clock: std::sync::Arc<CallClock>,
    terminated: Option<String>,
    /// Fuel the last call consumed (measurements, tests).
    pub(crate) last_fuel_used: u64,
    /// Fuel the last call was given (`u64::MAX`: no instruction limit).
    last_fuel_budget: u64,
}

/// Fuel for instantiation and `init` (start-up work, not per message).
const START_FUEL: u64 = 1_000_000_000;

impl<B> Instance<B> {
    /// Instantiates `loaded` with `instantiate` (the world's typed constructor) and
    /// calls the guest's `init` with `init`.
    pub(crate) fn new(
        engine: &SandboxEngine,
        loaded: &LoadedComponent,
        cfg: SandboxConfig,
        instantiate: impl FnOnce(
            &mut Store<HostState>,
            &Component,
            &wasmtime::component::Linker<HostState>,
        ) -> wasmtime::Result<B>,
        init: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<Result<(), String>>,
    ) -> Result<Instance<B>, SandboxError> {
        let mut store = Store::new(engine.engine(), HostState::new(&cfg));
        store.limiter(|s| &mut s.limiter);
        // Instantiation runs guest code too (static constructors), and so does `init`:
        // they get a fixed start-up budget, not the per-message one (Heka limits calls).
        store
            .set_fuel(START_FUEL.max(cfg.fuel_for(1)).min(i64::MAX as u64))
            .map_err(|e| SandboxError::Engine(format!("cannot set fuel: {e}")))?;
        let clock = CallClock::install(&mut store, engine.stopping());
        clock.arm(&mut store, cfg.call_time_limit);
        let bindings =
            instantiate(&mut store, &loaded.component, engine.linker()).map_err(|e| {
                SandboxError::Instantiate {
                    path: loaded.path.clone(),
                    reason: format!("{e:#}"),
                }
            })?;
        let mut instance = Instance {
            store,
            bindings,
            cfg,
            clock,
            terminated: None,
            last_fuel_used: 0,
            last_fuel_budget: 0,
        };
        let init_error = |reason| SandboxError::Init {
            path: loaded.path.clone(),
            reason,
        };
        match instance.call_start(init) {
            Ok(Ok(())) => Ok(instance),
            Ok(Err(reason)) => Err(init_error(reason)),
            Err(e) => Err(init_error(e.to_string())),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.cfg.spec.name
    }

    /// Whether the plugin was terminated (a trap, a limit, a fatal outcome).
    pub(crate) fn is_terminated(&self) -> bool {
        self.terminated.is_some()
    }

    /// The plugin's limits.
    pub(crate) fn limits(&self) -> &heka_pipeline::sandbox::SandboxLimits {
        &self.cfg.spec.limits
    }

    /// The last call's largest output and the share of its fuel it burnt.
    pub(crate) fn last_call(&self) -> (usize, f64) {
        let budget = match self.last_fuel_budget {
            b if b == 0 || b >= i64::MAX as u64 => 0.0,
            b => self.last_fuel_used as f64 / b as f64,
        };
        (self.store.data().emitted.largest_output(), budget)
    }

    /// Bytes of linear memory the guest holds.
    pub(crate) fn memory_used(&self) -> usize {
        self.store.data().limiter.current
    }

    /// Runs a guest call with the start-up budget (init, state restore and save: work
    /// on the whole state, not per message). Nothing may be injected.
    pub(crate) fn call_start<R>(
        &mut self,
        f: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let fuel = START_FUEL.max(self.cfg.fuel_for(1));
        self.call_with_fuel(CallKind::Start, 1, fuel, f)
    }

    /// Runs one guest call of `kind` worth `units` messages of budget.
    pub(crate) fn call<R>(
        &mut self,
        kind: CallKind,
        units: usize,
        f: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_with_fuel(kind, units, self.cfg.fuel_for(units), f)
    }

    fn call_with_fuel<R>(
        &mut self,
        kind: CallKind,
        units: usize,
        fuel: u64,
        f: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if let Some(reason) = &self.terminated {
            return Err(PluginError::Fatal(format!("terminated earlier: {reason}")));
        }
        let fuel = fuel.min(i64::MAX as u64);
        let state = self.store.data_mut();
        state.emitted.begin_batch(kind, units);
        state.panic = None;
        state.limiter.exceeded = false;
        if let Err(e) = self.store.set_fuel(fuel) {
            return Err(self.terminate(format!("cannot set fuel: {e}")));
        }
        self.clock.arm(&mut self.store, self.cfg.call_time_limit);

        let result = f(&self.bindings, &mut self.store);
        self.last_fuel_used = fuel.saturating_sub(self.store.get_fuel().unwrap_or(0));
        self.last_fuel_budget = if kind == CallKind::Start { 0 } else { fuel };
        let state = self.store.data();
        let reason = if state.limiter.exceeded {
            Some(LimitExceeded::Memory(self.cfg.spec.limits.memory_limit).to_string())
        } else if let Some(limit) = state.emitted.fatal() {
            Some(limit.to_string())
        } else {
            match &result {
                Ok(_) => None,
                Err(e) => Some(self.describe_trap(e)),
            }
        };
        match reason {
            Some(reason) => Err(self.terminate(reason)),
            None => result.map_err(|e| self.terminate(e.to_string())),
        }
    }

    fn describe_trap(&self, e: &wasmtime::Error) -> String {
        if let Some(refused) = e.downcast_ref::<BlockingRefused>() {
            return refused.to_string();
        }
        if let Some(stopped) = e.downcast_ref::<StoppedAtShutdown>() {
            return stopped.to_string();
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                LimitExceeded::Instructions(self.cfg.spec.limits.instruction_limit).to_string()
            }
            Some(Trap::Interrupt) => LimitExceeded::CallTime(self.cfg.call_time_limit).to_string(),
            _ => {
                // The trap's own text, not wasmtime's multi-line backtrace.
                let mut reason = match e.downcast_ref::<Trap>() {
                    Some(trap) => format!(
                        "trap: {}",
                        trap.to_string().trim_start_matches("wasm trap: ")
                    ),
                    None => format!("trap: {}", e.to_string().lines().next().unwrap_or("")),
                };
                if let Some(panic) = &self.store.data().panic {
                    reason.push_str(" (");
                    reason.push_str(panic);
                    reason.push(')');
                }
                reason
            }
        }
    }

    /// Marks the plugin terminated; later calls fail at once.
    pub(crate) fn terminate(&mut self, reason: String) -> PluginError {
        tracing::error!(plugin = %self.cfg.spec.name, %reason, "sandbox terminated");
        self.terminated = Some(reason.clone());
        PluginError::Fatal(reason)
    }

    /// The injections of the last call.
    pub(crate) fn take_injections(&mut self) -> Vec<Injection> {
        self.store.data_mut().emitted.take_injections()
    }

    /// A guest outcome as the pipeline's result; `Fatal` also terminates the plugin.
    pub(crate) fn outcome(&mut self, outcome: Outcome) -> Result<(), PluginError> {
        match outcome {
            Outcome::Ok => Ok(()),
            Outcome::Failed(reason) => Err(PluginError::Failed(reason)),
            Outcome::Skip => Err(PluginError::Skip),
            Outcome::Fatal(reason) => Err(self.terminate(reason)),
        }
    }
}

/// What every wasm plugin kind forwards from the contract's [`heka_pipeline::sandbox::Engine`].
macro_rules! forward_engine {
    ($ty:ty) => {
        impl heka_pipeline::sandbox::Engine for $ty {
            fn name(&self) -> &str {
                self.instance.name()
            }
            fn take_injections(&mut self) -> Vec<heka_pipeline::sandbox::Injection> {
                self.instance.take_injections()
            }
            fn terminate(&mut self, reason: String) -> heka_pipeline::PluginError {
                self.instance.terminate(reason)
            }
            fn is_terminated(&self) -> bool {
                self.instance.is_terminated()
            }
            fn memory_used(&self) -> usize {
                self.instance.memory_used()
            }
            fn identity(
                &self,
            ) -> (
                heka_pipeline::stats::Engine,
                &heka_pipeline::sandbox::SandboxLimits,
            ) {
                (heka_pipeline::stats::Engine::Wasm, self.instance.limits())
            }
            fn last_call(&self) -> (usize, f64) {
                self.instance.last_call()
            }
            // Every world exports `save-state` / `restore-state` (`preserve_data`);
            // they run with the start-up budget and may not inject.
            fn save_state(&mut self) -> Result<Option<Vec<u8>>, String> {
                self.instance
                    .call_start(|b, store| b.call_save_state(store))
                    .map_err(|e| format!("save-state: {e}"))
            }
            fn restore_state(&mut self, data: &[u8]) -> Result<(), String> {
                match self
                    .instance
                    .call_start(|b, store| b.call_restore_state(store, data))
                {
                    Ok(result) => result,
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    };
}
pub(crate) use forward_engine;

/// What a world runs at start-up, after instantiation, with the start-up budget:
/// the guest's `init`, preceded by whatever the world checks first (the filter world:
/// the batch format version).
pub(crate) trait Start {
    /// Ok(Err(reason)): the guest refused to start (the host names the component).
    fn start(&self, store: &mut Store<HostState>) -> wasmtime::Result<Result<(), String>>;
}

/// [`Start`] for a world that checks nothing before its `init`.
macro_rules! start_with_init {
    ($world:ty) => {
        impl $crate::instance::Start for $world {
            fn start(
                &self,
                store: &mut wasmtime::Store<$crate::host::HostState>,
            ) -> wasmtime::Result<Result<(), String>> {
                self.call_init(store)
            }
        }
    };
}
pub(crate) use start_with_init;

/// A world's two constructors, `load_<kind>` (through the engine's cache) and
/// `new_<kind>` (an already loaded component: encoders and decoders are started per
/// user), written once: instantiate, run the guest's `init` with the start-up
/// budget, wrap the engine in the contract's plugin (which restores `preserve_data`).
macro_rules! world_constructors {
    ($load:ident, $new:ident, $plugin:ty, $world:ty, $start:path, |$inst:ident| $make:expr) => {
        /// Loads (through the engine's cache) and starts the component at `path`,
        /// restoring its preserved state when `cfg.spec.preservation_file` is set.
        pub fn $load(
            engine: &$crate::SandboxEngine,
            path: &std::path::Path,
            cfg: $crate::SandboxConfig,
        ) -> Result<$plugin, heka_pipeline::sandbox::SandboxError> {
            let loaded = engine.load(path)?;
            $new(engine, &loaded, cfg)
        }

        /// Starts an already loaded component.
        pub fn $new(
            engine: &$crate::SandboxEngine,
            loaded: &$crate::LoadedComponent,
            cfg: $crate::SandboxConfig,
        ) -> Result<$plugin, heka_pipeline::sandbox::SandboxError> {
            let spec = cfg.spec.clone();
            let $inst = $crate::instance::Instance::new(
                engine,
                loaded,
                cfg,
                |store, component, linker| <$world>::instantiate(store, component, linker),
                |b, store| $crate::instance::Start::start(b, store),
            )?;
            $start($make, &loaded.path, &spec)
        }
    };
}
pub(crate) use world_constructors;
