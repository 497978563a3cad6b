//! [`RecordingClock`]: a [`Clock`] for the Octopus client that records every wait and returns
//! at once, so retry tests assert on the schedule (the delays asked for), not on how long a
//! busy machine took.

use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use octoshare_core::Clock;

/// Records the client's waits; its wall-clock time is fixed (or the real one).
#[derive(Debug, Default)]
pub struct RecordingClock {
    now: Option<SystemTime>,
    waits: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    /// The real wall-clock time; waits return at once.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Wall-clock time fixed at `now` (to answer an HTTP-date `Retry-After` exactly); waits
    /// return at once.
    pub fn at(now: SystemTime) -> Arc<Self> {
        Arc::new(Self {
            now: Some(now),
            waits: Mutex::default(),
        })
    }

    /// Every wait asked for so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        self.now.unwrap_or_else(SystemTime::now)
    }

    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(delay);
        Box::pin(ready(()))
    }
}
