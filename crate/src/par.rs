//! Fork-join over a fixed set of worker threads, for the threaded wasm build
//! (`+atomics`, shared memory; see `scripts/build.sh`). Other builds have no
//! workers and [`run`] calls its tasks in order on the caller's thread.
//!
//! The workers are Web Workers that JS starts (`js/threads.mjs`): each
//! instantiates the same module on the same shared memory and calls
//! [`worker_loop`], which never returns. Once all have entered it, JS calls
//! [`enable`], which fixes the set. A job is published by opening it and
//! bumping an epoch that the workers spin on for a while and then sleep on
//! (`memory.atomic.wait32`). Workers join an open job, take tasks, and
//! leave; the caller takes tasks too, and once none are left it closes the
//! job and spins until the workers inside have left. A worker that was
//! asleep and wakes too late finds the job closed (or joins the next one), so
//! small jobs never wait for a wake-up. The caller never sleeps, so the
//! engine may run on a browser's main thread, where `Atomics.wait` is not
//! allowed.
//!
//! Tasks are claimed one at a time from a shared counter, so uneven tasks
//! balance out. A task that calls [`run`] again runs the inner tasks itself.

/// How many tasks the kernels cut a split layer into per thread: enough
/// that a worker joining late, or a slower core, evens out.
pub const TASKS_PER_THREAD: usize = 3;

/// Threads a [`run`] spreads its tasks over (the caller plus the workers).
pub fn threads() -> usize {
    imp::workers() + 1
}

/// Call `f(0..tasks)`, spread over the threads; returns when all are done.
pub fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    imp::run(tasks, f)
}

/// A raw pointer that tasks may share, for writing disjoint parts of one
/// output buffer (each task rebuilds its own slice from it).
#[derive(Clone, Copy)]
pub struct SharedMut<T>(pub *mut T);
// Safety: only used to hand each task a disjoint region; see the callers.
unsafe impl<T> Send for SharedMut<T> {}
unsafe impl<T> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// The pointer (a method, so that closures capture the whole wrapper).
    pub fn get(self) -> *mut T {
        self.0
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub use imp::{enable, started, worker_loop};

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod imp {
    use core::arch::wasm32::{memory_atomic_notify, memory_atomic_wait32};
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering::*};

    struct Job<'a> {
        f: &'a (dyn Fn(usize) + Sync),
        tasks: usize,
    }

    /// Bumped once per job; workers wait for it to change.
    static EPOCH: AtomicU32 = AtomicU32::new(0);
    /// Workers that entered [`worker_loop`].
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    /// Workers that take part in jobs (fixed by [`enable`]).
    static WORKERS: AtomicUsize = AtomicUsize::new(0);
    static FROZEN: AtomicBool = AtomicBool::new(false);
    /// [`OPEN`] while a job takes workers, plus the number of workers inside it.
    static STATE: AtomicU32 = AtomicU32::new(0);
    const OPEN: u32 = 1 << 31;
    /// Next task index to claim.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    static JOB: AtomicPtr<Job<'static>> = AtomicPtr::new(core::ptr::null_mut());
    /// A job is being run (nested or concurrent callers run inline).
    static IN_JOB: AtomicBool = AtomicBool::new(false);

    /// Spins on the epoch before sleeping: long enough to bridge the serial
    /// work between two layers, short enough not to burn an idle core.
    const SPINS: u32 = 1 << 22;

    pub fn workers() -> usize {
        WORKERS.load(Acquire)
    }

    /// Workers that have entered [`worker_loop`] so far.
    pub fn started() -> usize {
        STARTED.load(Acquire)
    }

    /// Fix the worker set to those started; returns how many.
    pub fn enable() -> usize {
        FROZEN.store(true, SeqCst);
        let n = STARTED.load(SeqCst);
        WORKERS.store(n, Release);
        n
    }

    /// A worker thread's life: wait for jobs, take their tasks. Returns only
    /// if the set was already fixed (the worker is not needed).
    pub fn worker_loop() {
        // No job is published before `enable`, so this epoch is current.
        let mut seen = EPOCH.load(Acquire);
        if FROZEN.load(SeqCst) {
            return;
        }
        STARTED.fetch_add(1, SeqCst);
        loop {
            let mut spins = 0;
            loop {
                let e = EPOCH.load(Acquire);
                if e != seen {
                    seen = e;
                    break;
                }
                if spins < SPINS {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    // Safety: EPOCH is a live, aligned i32-sized atomic in shared memory.
                    unsafe { memory_atomic_wait32(EPOCH.as_ptr() as *mut i32, seen as i32, -1) };
                }
            }
            // Join the open job, if any (it may be a later one than the
            // epoch we saw: then its tasks are as good).
            if STATE.fetch_add(1, AcqRel) & OPEN != 0 {
                // Safety: the caller stored JOB before opening the job and
                // keeps it alive until no worker is inside, which needs us.
                let job = unsafe { &*JOB.load(Acquire) };
                work(job);
            }
            STATE.fetch_sub(1, AcqRel);
        }
    }

    fn work(job: &Job) {
        loop {
            let i = NEXT.fetch_add(1, AcqRel);
            if i >= job.tasks {
                break;
            }
            (job.f)(i);
        }
    }

    pub fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        let w = WORKERS.load(Acquire);
        if w == 0 || tasks <= 1 || IN_JOB.swap(true, Acquire) {
            (0..tasks).for_each(f);
            return;
        }
        let job = Job { f, tasks };
        // Workers only read `job` from inside the open job (counted in STATE,
        // see worker_loop), and we do not return before none is inside: the
        // lifetime extension never shows.
        JOB.store(&job as *const Job as *mut Job<'static>, Release);
        NEXT.store(0, Release);
        // fetch_or keeps the count of late workers still leaving a past job.
        STATE.fetch_or(OPEN, AcqRel);
        EPOCH.fetch_add(1, Release);
        // Safety: EPOCH is a live, aligned atomic in shared memory.
        unsafe { memory_atomic_notify(EPOCH.as_ptr() as *mut i32, w as u32) };
        work(&job);
        // Every task is claimed: close the job and wait for those inside.
        STATE.fetch_and(!OPEN, AcqRel);
        while STATE.load(Acquire) != 0 {
            core::hint::spin_loop();
        }
        IN_JOB.store(false, Release);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
mod imp {
    pub fn workers() -> usize {
        0
    }
    pub fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        (0..tasks).for_each(f)
    }
}
