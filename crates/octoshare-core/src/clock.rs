//! Where the client's retry loop reads the time and waits: the real clock by default, a
//! recording one in tests, so backoff and `Retry-After` schedules are asserted without sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// The time source of a [`Client`](crate::Client)'s retry loop, set with
/// [`ClientBuilder::clock`](crate::ClientBuilder::clock).
///
/// The client asks it for the wall-clock time when it reads an HTTP-date `Retry-After`, and
/// waits on it before each retry (backoff or `Retry-After`). Cancellation still cuts any wait
/// short: the client races the returned future against its cancellation token.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
    /// A future that completes after `delay`.
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The real clock: [`SystemTime::now`] and Tokio's timer (so `tokio::time::pause` drives it).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(delay))
    }
}
