//! Time for the drain: when to poll next and when the drain timeout passes. A trait, so tests
//! run a drain of minutes in no time and assert on its schedule, not on wall-clock windows.

use std::future::Future;
use std::time::Duration;

/// The drain's clock.
pub trait DrainClock {
    /// Time since an arbitrary start (monotonic).
    fn now(&self) -> Duration;
    /// Completes `duration` from now.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Tokio's clock: real time (or paused time under `tokio::time::pause`).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting now.
    pub fn new() -> TokioClock {
        TokioClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> TokioClock {
        TokioClock::new()
    }
}

impl DrainClock for TokioClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

impl<C: DrainClock + ?Sized> DrainClock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        (**self).sleep(duration)
    }
}
