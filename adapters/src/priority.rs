//! Thread priorities. Background work (import jobs, the events thread, snapshot writing,
//! making the log's next segment) yields the cores to requests at `--background-nice`;
//! with `--realtime-requests` the threads every request passes through (the HTTP
//! workers, the actors' thread, the log's writer) run in the real-time class, so that a
//! woken request's thread takes a core at once. Linux only (each thread has its own).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The lowest priority a thread can be given: nice 19.
pub(crate) const NICE_LOWEST: i32 = 19;

/// Whether request threads run in the real-time class (`--realtime-requests`).
static REALTIME: AtomicBool = AtomicBool::new(false);

/// `--background-nice`, for threads started where the value is not at hand (the log's).
static BACKGROUND_NICE: AtomicI32 = AtomicI32::new(10);

/// Sets the node's choices, before any thread they apply to starts.
pub(crate) fn configure(realtime: bool, background_nice: i32) {
    REALTIME.store(realtime, Ordering::Release);
    BACKGROUND_NICE.store(background_nice, Ordering::Release);
    mercato_actors::on_blocking_start(usual);
}

/// Puts the calling thread, one every request passes through, in the real-time class
/// (`SCHED_FIFO` at its lowest priority, 1) when `--realtime-requests` asks for it. The
/// usual scheduler lets the thread running on a core finish its slice, up to a scheduler
/// tick (1 to 4 ms), before a woken thread of the same class runs, even one from the idle
/// class; a real-time thread takes the core at once. Needs root or `CAP_SYS_NICE`: where
/// refused, a warning, and the thread runs as any. Threads it starts inherit the class:
/// each of them calls [`usual`] or [`lower_priority`] first.
pub(crate) fn raise_request_thread() {
    when_realtime(realtime, "a request thread could not be put in the real-time class; it runs as any");
}

/// Makes `change` to the calling thread when `--realtime-requests` was given; a refusal is
/// warned of as `failure`.
fn when_realtime(change: fn() -> Result<(), String>, failure: &str) {
    if REALTIME.load(Ordering::Acquire) {
        if let Err(error) = change() {
            tracing::warn!(%error, "{failure}");
        }
    }
}

/// The calling thread in the real-time class, at its lowest priority.
fn realtime() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
        let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
        let native = thread_priority::thread_native_id();
        thread_priority::set_thread_priority_and_policy(native, ThreadPriority::Min, fifo)
            .map_err(|error| format!("{error:?}"))
    }
    #[cfg(not(target_os = "linux"))]
    Err("real-time request threads are for Linux only".to_owned())
}

/// Gives the calling thread the usual class back, where it may have inherited the
/// real-time one from the thread that started it (a blocking task's, a background one's).
pub(crate) fn usual() {
    when_realtime(ordinary, "a thread could not leave the real-time class");
}

/// The calling thread in the usual class, at nice 0, when it is in the real-time one (a
/// thread that is not is left as it is: where the class was refused, so is raising nice).
fn ordinary() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
        if !matches!(thread_priority::thread_schedule_policy(), Ok(ThreadSchedulePolicy::Realtime(_))) {
            return Ok(());
        }
        let other = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
        let native = thread_priority::thread_native_id();
        // The usual class at nice 0 (the crate maps its lowest priority to nice 19 there).
        thread_priority::set_thread_priority_and_policy(native, ThreadPriority::Min, other)
            .map_err(|error| format!("{error:?}"))
            .and_then(|()| {
                rustix::process::setpriority_process(Some(rustix::thread::gettid()), 0).map_err(|e| e.to_string())
            })
    }
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

/// Runs `work` with the usual class (it runs on a blocking thread a request thread may
/// have started).
pub(crate) fn as_usual<T>(work: impl FnOnce() -> T) -> T {
    usual();
    work()
}

/// Lowers the calling thread's priority to the nice value `nice`: background work yields
/// the cores to requests. At `NICE_LOWEST` the thread is put in the idle class
/// (`SCHED_IDLE`): it runs only on a core nothing else wants (the scheduler may still let
/// it finish its slice before a woken request's thread runs). Where it cannot be done the
/// thread competes as any.
pub(crate) fn lower_priority(nice: i32) {
    usual();
    let nice = nice.clamp(0, NICE_LOWEST);
    #[cfg(target_os = "linux")]
    if nice == NICE_LOWEST {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        match thread_priority::set_thread_priority_and_policy(
            thread_priority::thread_native_id(),
            ThreadPriority::Min,
            idle,
        ) {
            Ok(()) => return,
            Err(error) => tracing::warn!(?error, "a background thread could not be put in the idle class"),
        }
    }
    #[cfg(target_os = "linux")]
    if nice > 0 {
        if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice) {
            tracing::warn!(%error, "a background thread runs at the usual priority");
        }
    }
}

/// What the log runs first on each of its threads: the writer is on every change's path,
/// the next segment's zeroing is background work.
pub(crate) fn log_thread(thread: mercato_persistence::log::LogThread) {
    match thread {
        mercato_persistence::log::LogThread::Writer => raise_request_thread(),
        mercato_persistence::log::LogThread::Spare => lower_priority(BACKGROUND_NICE.load(Ordering::Acquire)),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use thread_priority::{NormalThreadSchedulePolicy, RealtimeThreadSchedulePolicy, ThreadSchedulePolicy};

    fn policy() -> ThreadSchedulePolicy {
        thread_priority::thread_schedule_policy().expect("the thread's policy reads")
    }

    fn nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).expect("the thread's nice value reads")
    }

    /// A real-time request thread's children inherit its class: one that asks for the
    /// usual class gets it back at nice 0, and a background one the idle class. Skipped
    /// where the real-time class is refused (no `CAP_SYS_NICE`).
    #[test]
    fn threads_started_by_a_realtime_thread_leave_its_class() {
        let checked = std::thread::spawn(|| {
            if let Err(error) = realtime() {
                eprintln!("skipped: the real-time class is refused here: {error}");
                return;
            }
            let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
            assert_eq!(policy(), fifo);
            let child = std::thread::spawn(move || {
                let inherited = policy();
                ordinary().expect("the usual class");
                (inherited, policy(), nice())
            });
            let (inherited, after, niceness) = child.join().expect("the child ran");
            assert_eq!(inherited, fifo, "a thread inherits its starter's class");
            assert_eq!(after, ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other));
            assert_eq!(niceness, 0, "the usual class at nice 0, not the crate's lowest priority");
            let background = std::thread::spawn(|| {
                // `lower_priority` leaves the real-time class only when the node asked for
                // it; the idle class is set either way.
                lower_priority(NICE_LOWEST);
                policy()
            });
            let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
            assert_eq!(background.join().expect("the background thread ran"), idle);
        });
        checked.join().expect("the checks passed");
    }
}
