//! Long native work with the GIL released and Ctrl-C noticed: the one helper every run and
//! batch computation without Python callbacks goes through.
//!
//! Python runs signal handlers (Ctrl-C's `KeyboardInterrupt`) only on the main thread, and
//! only when that thread asks (`PyErr_CheckSignals`). So the work runs on a worker thread,
//! while the calling thread waits with the GIL released and, every [`POLL`], takes the GIL
//! back for a moment to run the handlers. When one raises, the work is told to stop (a cancel
//! flag that the core polls) and its result, if any, is dropped: an interrupted call returns
//! the handler's exception and nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::QuantaError;

/// How often the waiting thread runs Python's signal handlers.
const POLL: Duration = Duration::from_millis(20);

/// Run `work` on a worker thread with the GIL released, checking for signals every [`POLL`].
/// `work` gets the cancel flag and must poll it: after a signal handler raises, the flag is
/// set, `work` is awaited (it stops within milliseconds) and the exception returned. A panic
/// in `work` is resumed here. Work known to be `short` (a few milliseconds at most) runs on
/// this thread, with the GIL released, sparing the thread's start.
pub fn interruptible<T: Send>(
    py: Python<'_>,
    short: bool,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    if short {
        return Ok(py.detach(|| work(&cancel)));
    }
    py.detach(|| {
        thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            let flag = &cancel;
            let worker = thread::Builder::new()
                .name("quanta-native".into())
                .spawn_scoped(scope, move || {
                    let _ = done.send(work(flag)); // `finished` outlives the worker
                })
                .map_err(cannot_start)?;
            let outcome = wait(&finished);
            if outcome.is_err() {
                cancel.store(true, Ordering::Relaxed);
            }
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
            // Interrupted: the result (of a cancelled or just finished run) is dropped.
            outcome.map(|out| out.expect("a worker that returns has sent its result"))
        })
    })
}

/// Run `work`, which cannot be stopped, on a detached thread with the GIL released, checking
/// for signals every [`POLL`]. After a signal handler raises, its exception is returned at
/// once; the work finishes in the background and its result is dropped (it owns its inputs:
/// nothing of Python's is read after the return). A panic in `work` is resumed here.
pub fn abandonable<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    py.detach(|| {
        let (done, finished) = mpsc::channel();
        let worker = thread::Builder::new()
            .name("quanta-native".into())
            .spawn(move || {
                let _ = done.send(work()); // nobody receives after an interrupt: dropped
            })
            .map_err(cannot_start)?;
        match wait(&finished)? {
            Some(out) => Ok(out),
            None => match worker.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("a worker that returns has sent its result"),
            },
        }
    })
}

/// The worker's result, or None when it ended without one (a panic), running Python's signal
/// handlers every [`POLL`] meanwhile: the first exception one raises.
fn wait<T>(finished: &Receiver<T>) -> PyResult<Option<T>> {
    loop {
        match finished.recv_timeout(POLL) {
            Ok(out) => return Ok(Some(out)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) => Python::attach(|py| py.check_signals())?,
        }
    }
}

fn cannot_start(error: std::io::Error) -> PyErr {
    QuantaError::new_err(format!("cannot start a thread for the native engine: {error}"))
}
