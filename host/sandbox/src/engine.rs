//! [`SandboxEngine`]: the process's wasmtime engine, its component cache and its
//! epoch ticker.
//!
//! One engine for every sandbox: compiled code, the linker and the ticker thread are
//! shared. Components are cached by the SHA-256 of their bytes, in memory and, when a
//! cache directory is given (hekad uses `<base_dir>/sandbox_cache`), on disk as
//! wasmtime's serialized form, so a restart deserializes instead of recompiling
//! (cranelift takes seconds on a small machine). The caches are consulted when a
//! plugin is loaded, never per message.
//!
//! A disk entry is named `<sha256 of the wasm>-<engine key>.cwasm`, the engine key
//! being a SHA-256 of wasmtime's own compatibility hash (its version, the target, and
//! every compilation setting of this engine's `Config`). Two hekad builds sharing a
//! `base_dir` therefore keep one entry each instead of overwriting each other's, and
//! a changed setting can never pick up code compiled for another; wasmtime checks the
//! same header again when deserializing. Entries are only ever added (one per guest
//! and engine); deleting the directory is always safe.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::SandboxError;
use crate::host::HostState;

/// How often the epoch advances: the resolution of the per-call wall-clock cap.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The process-wide engine ([`SandboxEngine::shared`]).
static SHARED: std::sync::OnceLock<SandboxEngine> = std::sync::OnceLock::new();

/// A compiled component, ready to be instantiated any number of times.
#[derive(Clone)]
pub struct LoadedComponent {
    pub(crate) component: Component,
    /// The file it came from (error messages).
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub hash: String,
}

/// Counters of the component cache (tests and reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components compiled by cranelift.
    pub compiled: u64,
    /// Loads answered from memory.
    pub memory_hits: u64,
    /// Loads answered by deserializing the disk cache.
    pub disk_hits: u64,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Mutex<HashMap<String, Component>>,
    cache_dir: Option<PathBuf>,
    /// Hex of the engine's compatibility hash: part of each disk entry's name.
    engine_key: String,
    compiled: AtomicU64,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    ticker_stop: Arc<AtomicBool>,
    /// hekad is stopping: calls get at most `deadline::SHUTDOWN_CALL_LIMIT` more.
    stopping: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// The shared wasmtime engine (cheap to clone).
#[derive(Clone)]
pub struct SandboxEngine {
    inner: Arc<Inner>,
}

impl SandboxEngine {
    /// An engine with fuel and epoch interruption on, and an optional on-disk cache of
    /// compiled components in `cache_dir` (created if missing).
    pub fn new(cache_dir: Option<&Path>) -> Result<SandboxEngine, SandboxError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // Profiling: `HEKA_WASM_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report`
        // names the guests' functions (off by default: it costs at compile time only).
        if std::env::var_os("HEKA_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| SandboxError::Engine(format!("{e:#}")))?;

        let mut linker = Linker::new(&engine);
        crate::wasi::add_to_linker(&mut linker)
            .map_err(|e| SandboxError::Engine(format!("linking WASI: {e:#}")))?;
        crate::bindings::filter::heka::plugin::host::add_to_linker::<
            _,
            wasmtime::component::HasSelf<_>,
        >(&mut linker, |s| s)
        .map_err(|e| SandboxError::Engine(format!("linking the host API: {e:#}")))?;

        if let Some(dir) = cache_dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                SandboxError::Engine(format!("cannot create cache dir {}: {e}", dir.display()))
            })?;
        }

        // One ticker thread per engine: it only bumps an atomic counter that running
        // calls compare against their deadline.
        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("wasm-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| SandboxError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        }

        let engine_key = engine_key(&engine);
        Ok(SandboxEngine {
            inner: Arc::new(Inner {
                engine_key,
                engine,
                linker,
                cache: Mutex::new(HashMap::new()),
                cache_dir: cache_dir.map(Path::to_path_buf),
                compiled: AtomicU64::new(0),
                memory_hits: AtomicU64::new(0),
                disk_hits: AtomicU64::new(0),
                ticker_stop,
                stopping: Arc::new(AtomicBool::new(false)),
            }),
        })
    }

    /// The process-wide engine (hekad's): created on first use with `cache_dir`; later
    /// callers get the same engine whatever directory they pass.
    pub fn shared(cache_dir: Option<&Path>) -> Result<SandboxEngine, SandboxError> {
        if let Some(e) = SHARED.get() {
            return Ok(e.clone());
        }
        let engine = SandboxEngine::new(cache_dir)?;
        Ok(SHARED.get_or_init(|| engine).clone())
    }

    /// hekad is stopping: from now on every call of this engine's sandboxes, the one
    /// running included, runs at most [`crate::SHUTDOWN_CALL_LIMIT`] more (a looping
    /// guest is stopped within that bound, see `deadline`). Idempotent.
    pub fn stop_calls(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }

    /// [`SandboxEngine::stop_calls`] on the process-wide engine, if one was made.
    pub fn stop_shared_calls() {
        if let Some(engine) = SHARED.get() {
            engine.stop_calls();
        }
    }

    pub(crate) fn stopping(&self) -> Arc<AtomicBool> {
        self.inner.stopping.clone()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    /// Cache counters so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.inner.compiled.load(Ordering::Relaxed),
            memory_hits: self.inner.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.inner.disk_hits.load(Ordering::Relaxed),
        }
    }

    /// Reads and compiles (or finds in a cache) the component at `path`.
    pub fn load(&self, path: &Path) -> Result<LoadedComponent, SandboxError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| SandboxError::Read {
            path: shown.clone(),
            source,
        })?;
        self.load_bytes(&bytes, &shown)
    }

    /// As [`SandboxEngine::load`], from bytes; `path` only names them in errors.
    pub fn load_bytes(&self, bytes: &[u8], path: &str) -> Result<LoadedComponent, SandboxError> {
        let hash = hex::encode(Sha256::digest(bytes));
        let done = |component: Component| LoadedComponent {
            component,
            path: path.to_owned(),
            hash: hash.clone(),
        };

        // The lock is held across compilation on purpose: two sandboxes loading the
        // same plugin at once compile it once. Loads happen at start-up, not per message.
        let mut cache = self
            .inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = cache.get(&hash) {
            self.inner.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(done(c.clone()));
        }
        let disk = self
            .inner
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{hash}-{}.cwasm", self.inner.engine_key)));
        if let Some(file) = &disk
            && file.exists()
        {
            // SAFETY: the cache directory is hekad's own (under base_dir) and files are
            // written there only by `Component::serialize` below, named for this
            // engine; wasmtime checks the engine/version compatibility header too and
            // refuses a mismatch, in which case we recompile.
            match unsafe { Component::deserialize_file(&self.inner.engine, file) } {
                Ok(c) => {
                    self.inner.disk_hits.fetch_add(1, Ordering::Relaxed);
                    cache.insert(hash.clone(), c.clone());
                    return Ok(done(c));
                }
                Err(e) => {
                    tracing::info!(file = %file.display(), error = %e, "stale component cache entry; recompiling")
                }
            }
        }
        let component =
            Component::new(&self.inner.engine, bytes).map_err(|e| SandboxError::Compile {
                path: path.to_owned(),
                reason: format!("not a valid WebAssembly component: {e:#}"),
            })?;
        self.inner.compiled.fetch_add(1, Ordering::Relaxed);
        if let Some(file) = &disk {
            match component.serialize() {
                Ok(ser) => {
                    let tmp = file.with_extension("cwasm.tmp");
                    if let Err(e) =
                        std::fs::write(&tmp, ser).and_then(|()| std::fs::rename(&tmp, file))
                    {
                        tracing::warn!(file = %file.display(), error = %e, "cannot write the component cache");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot serialize a component for the cache"),
            }
        }
        cache.insert(hash.clone(), component.clone());
        Ok(done(component))
    }
}

/// The first 16 bytes, in hex, of a SHA-256 over wasmtime's compatibility hash of
/// `engine` (wasmtime's version, the target and the compilation settings).
fn engine_key(engine: &Engine) -> String {
    use std::hash::Hash;
    struct Sha(Sha256);
    impl std::hash::Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut sha = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut sha);
    hex::encode(&sha.0.finalize()[..16])
}
