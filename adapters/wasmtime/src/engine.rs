//! The engine and its limits: [`Limits`], the pooling allocator sized from
//! them, the memory cap of a store, and the thread that advances the epoch
//! for timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    ResourceLimiter,
};

/// Limits that apply to every instance of a [`Runtime`](crate::Runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory one instance may use, in bytes. Python sees
    /// `MemoryError` when an allocation would pass it.
    pub memory_bytes: usize,
    /// The longest one call may run. A call that runs longer is stopped with
    /// [`Error::Timeout`](crate::Error::Timeout), and the instance refuses
    /// further calls. `None`: no limit, and the compiled code carries no
    /// interruption checks, which makes Python about 25% faster (see
    /// docs/BENCHMARKS.md) but leaves nothing that can stop a runaway call:
    /// only for trusted code.
    pub timeout: Option<Duration>,
    /// How many instances may be alive at once
    /// ([`Error::Capacity`](crate::Error::Capacity) beyond).
    pub max_instances: u32,
    /// The most bytes an instance's in-memory file system (`/tmp`, the home
    /// directory) holds, file data and entries together; past it, writes
    /// fail in Python with `OSError(ENOSPC)`. It lives in the instance's
    /// linear memory, so `memory_bytes` bounds it too.
    pub file_system_bytes: u64,
    /// The most Python objects the host may hold at once ([`PyObject`](crate::PyObject)s
    /// alive, counted by handle). Past it, a call whose result would need
    /// another handle raises `MemoryError` in Python, which names the limit;
    /// the instance goes on.
    pub python_objects: u32,
}

impl Default for Limits {
    /// 256 MiB of memory, 30 s per call, 1000 live instances, 64 MiB of
    /// files, 100 000 Python objects held.
    fn default() -> Limits {
        Limits {
            memory_bytes: 256 << 20,
            timeout: Some(Duration::from_secs(30)),
            max_instances: 1000,
            file_system_bytes: 64 << 20,
            python_objects: 100_000,
        }
    }
}

/// The most native stack one call may use for wasm frames. CPython's
/// default recursion limit (1000) keeps Python code far inside it; code that
/// raises `sys.setrecursionlimit` and recurses in C (deeply nested
/// `json.loads`, `pickle.dumps`, `repr`) ends in a trap ("call stack
/// exhausted") that retires the instance. Kept well under the 2 MiB that a
/// spawned Rust thread (or a tokio worker) has, so that the host's own
/// frames always fit.
const WASM_STACK: usize = 512 << 10;

/// Bytes of a freed instance's linear memory kept mapped for the next one.
const KEEP_RESIDENT: usize = 1 << 20;

/// Bytes of a freed instance's function table kept mapped for the next one.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// An epoch deadline that is never reached: far away, but not so far that
/// adding the current epoch overflows.
pub(crate) const NO_DEADLINE: u64 = u64::MAX / 2;

/// How often the epoch advances: the resolution of call timeouts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Pool slots per component instance: the guest, the WASI adapter and the
/// shims wit-component adds.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// CPython's function table holds one entry per address-taken C function.
const TABLE_ELEMENTS: usize = 100_000;

/// Denies memory growth past the cap and remembers that it did.
pub(crate) struct MemoryCap {
    pub(crate) bytes: usize,
    pub(crate) hit: bool,
}

impl MemoryCap {
    pub(crate) fn new(bytes: usize) -> MemoryCap {
        MemoryCap { bytes, hit: false }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.bytes;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The engine configuration for `limits`: the pooling allocator sized for
/// `limits.max_instances` instances, epoch interruption when there is a
/// timeout, an explicit wasm stack. [`crate::serve`] uses it too.
pub(crate) fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    // Epoch checks at every loop header and function entry are what makes
    // a timeout possible, and cost about a quarter of Python's speed.
    config.epoch_interruption(limits.timeout.is_some());
    config.max_wasm_stack(WASM_STACK);
    // Instances come from a pool of pre-reserved slots, and start from
    // the component's memory image copy-on-write: no copying per instance.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(limits.max_instances.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(limits.max_instances.saturating_mul(TABLES_PER_COMPONENT))
        // One fiber stack per instance running an asynchronous call (the
        // server's requests). Each stack's guard page is set up when the
        // engine is made, a system call apiece: Wasmtime's default of
        // 1 000 took a fifth of `pycomponent eval 1`.
        .total_stacks(limits.max_instances)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(limits.memory_bytes)
        .max_core_instance_size(1 << 20)
        .max_component_instance_size(1 << 20)
        // A new instance writes to about a hundred pages of the memory
        // image in its first call. Resetting those pages of a freed slot
        // in place (found with Linux's PAGEMAP_SCAN, where the kernel has
        // it) keeps them mapped, so the next instance in the slot does
        // not fault them in again: the first call gets ~40% faster. Up to
        // this much per slot stays resident; without PAGEMAP_SCAN, the
        // lowest this-much is reset by copying instead.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The pool's own "no free slot" error, when that is why `error` happened
/// (Wasmtime's type, not its message: other instantiation errors can
/// mention the pool too).
pub(crate) fn pool_full(error: &wasmtime::Error) -> Option<&PoolConcurrencyLimitError> {
    error.chain().find_map(|cause| cause.downcast_ref::<PoolConcurrencyLimitError>())
}

/// Advances the engine's epoch until the last [`Runtime`](crate::Runtime)
/// clone is dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("pycomponent-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::component::{Component, Linker};
    use wasmtime::{Engine, Store};

    /// The smallest component: the preamble of the component binary format.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    #[test]
    fn a_full_pool_is_recognized_by_its_error_type() {
        let limits = Limits { memory_bytes: 1 << 20, timeout: None, max_instances: 1, ..Limits::default() };
        let engine = Engine::new(&engine_config(&limits)).unwrap();
        let component = Component::new(&engine, EMPTY_COMPONENT).unwrap();
        let linker = Linker::<()>::new(&engine);
        let mut first = Store::new(&engine, ());
        let _live = linker.instantiate(&mut first, &component).expect("the one slot");
        let mut second = Store::new(&engine, ());
        let err = linker.instantiate(&mut second, &component).expect_err("no second slot");
        let full = pool_full(&err).expect("a pool-concurrency error");
        assert!(full.to_string().contains("component instances"), "{full}");
    }

    #[test]
    fn errors_that_only_mention_the_pool_are_not_a_full_pool() {
        for text in [
            "maximum concurrent limit of 4 for component instances reached",
            "memory index 0 is unsupported in this pooling allocator configuration",
        ] {
            // What the text test before took for a full pool.
            assert!(pool_full(&wasmtime::Error::msg(text)).is_none(), "{text}");
            assert!(pool_full(&wasmtime::Error::msg(text).context("instantiating")).is_none(), "{text}");
        }
    }
}
