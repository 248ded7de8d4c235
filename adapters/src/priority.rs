//! Thread priorities. Background work (import jobs, the events thread, snapshot writing,
//! making the log's next segment) yields the cores to requests at `--background-nice`;
//! with `--realtime-requests` the threads every request passes through (the HTTP
//! workers, the actors' thread, the log's writer) run in the real-time class, so that a
//! woken request's thread takes a core at once. Linux only (each thread has its own).

use std::sync::atomic::{AtomicBool, Ordering};

/// The lowest priority a thread can be given: nice 19.
pub(crate) const NICE_LOWEST: i32 = 19;

/// Whether request threads run in the real-time class (`--realtime-requests`).
static REALTIME: AtomicBool = AtomicBool::new(false);

/// Sets the node's choices, before any thread they apply to starts.
pub(crate) fn configure(realtime: bool) {
    REALTIME.store(realtime, Ordering::Release);
    mercato_actors::on_blocking_start(usual);
}

/// Puts the calling thread, one every request passes through, in the real-time class
/// (`SCHED_FIFO` at its lowest priority, 1) when `--realtime-requests` asks for it. On a
/// kernel that preempts lazily (6.18 measured, benches/RESULTS.md) a woken thread of the
/// usual classes waits for the running one's slice to end at a tick (1 to 4 ms), even when
/// that one is in the idle class; a real-time thread takes the core at once. Needs root,
/// `CAP_SYS_NICE` or an `RLIMIT_RTPRIO`: where refused, a warning, and the thread runs as
/// any. Threads it starts inherit the class: each of them calls [`usual`] or
/// [`lower_priority`] first, but for the HTTP workers' own blocking threads, which decode
/// a compressed request body (bounded by the route's limit) in it, as request work.
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

/// The calling thread in the usual class when it is in the real-time one, at the nice
/// value it kept there (the node's, 0 unless the node was started under `nice`); a thread
/// that is not is left as it is. Lowering a nice value can need a privilege the real-time
/// class did not (an `RLIMIT_RTPRIO` without an `RLIMIT_NICE`): the value is never lowered.
fn ordinary() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy};
        if !matches!(thread_priority::thread_schedule_policy(), Ok(ThreadSchedulePolicy::Realtime(_))) {
            return Ok(());
        }
        let other = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
        let kept = rustix::process::getpriority_process(Some(rustix::thread::gettid())).map_err(|e| e.to_string())?;
        // The crate sets a normal thread's nice value from its own 0-99 scale: the step of
        // that scale that gives the value kept.
        let same = (0..=99u8)
            .filter_map(|step| ThreadPriorityValue::try_from(step).ok())
            .map(ThreadPriority::Crossplatform)
            .find(|priority| priority.to_posix(other) == Ok(kept))
            .ok_or_else(|| format!("no priority of the usual class keeps nice {kept}"))?;
        thread_priority::set_thread_priority_and_policy(thread_priority::thread_native_id(), same, other)
            .map_err(|error| format!("{error:?}"))
    }
    #[cfg(not(target_os = "linux"))]
    Ok(())
}

/// `web::block` for a request's handler: `work` runs on the HTTP worker's blocking pool,
/// whose threads the worker starts and so inherit its class, in the usual class.
pub(crate) async fn block<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, actix_web::error::BlockingError> {
    actix_web::web::block(move || {
        usual();
        work()
    })
    .await
}

/// Lowers the calling thread's priority to the nice value `nice`: background work yields
/// the cores to requests. At `NICE_LOWEST` the thread is put in the idle class
/// (`SCHED_IDLE`): it runs only on a core nothing else wants (the scheduler may still let
/// it finish its slice before a woken request's thread runs). Where it cannot be done the
/// thread competes as any.
pub(crate) fn lower_priority(nice: i32) {
    lower(nice, REALTIME.load(Ordering::Acquire));
}

/// `lower_priority`, leaving the real-time class first when `realtime` (a background
/// thread a request thread started inherited it).
fn lower(nice: i32, realtime: bool) {
    if realtime {
        if let Err(error) = ordinary() {
            tracing::warn!(%error, "a background thread could not leave the real-time class");
        }
    }
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

/// What the log runs first on each of its threads: the writer is on every change's path;
/// the spare maker, which the writer starts, leaves the real-time class (it zeroes a file
/// nothing waits for, in the usual class as before, so that it is ready in time).
pub(crate) fn log_thread(thread: mercato_persistence::log::LogThread) {
    match thread {
        mercato_persistence::log::LogThread::Writer => raise_request_thread(),
        mercato_persistence::log::LogThread::Spare => usual(),
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
    /// usual class gets it back at the nice value it kept (not the crate's nice 19, not 0),
    /// and a background one leaves it for its nice value, which alone would not. Skipped
    /// where the real-time class is refused (no root, `CAP_SYS_NICE` or `RLIMIT_RTPRIO`).
    #[test]
    fn threads_started_by_a_realtime_thread_leave_its_class() {
        let checked = std::thread::spawn(|| {
            // Raising a nice value needs no privilege: the value a child must keep.
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), 3).expect("nice 3");
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
            assert_eq!(niceness, 3, "the nice value kept");
            let other = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
            let background = std::thread::spawn(|| {
                lower(10, true);
                (policy(), nice())
            });
            assert_eq!(background.join().expect("the background thread ran"), (other, 10));
            let stays = std::thread::spawn(|| {
                lower(10, false);
                policy()
            });
            assert_eq!(stays.join().expect("the thread ran"), fifo, "a nice value alone leaves the class as it is");
        });
        checked.join().expect("the checks passed");
    }
}
