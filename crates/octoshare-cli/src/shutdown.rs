//! Graceful interruption: the first SIGINT/SIGTERM asks work to stop starting new writes; a second
//! one ends the process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// A shared "please stop" flag. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<ShutdownState>,
}

#[derive(Debug, Default)]
struct ShutdownState {
    requested: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// A flag nobody has raised yet.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Raises the flag and wakes every waiter.
    pub fn request(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether the flag is raised.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Completes once the flag is raised.
    pub async fn requested(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Raises the flag on the first SIGINT or SIGTERM; exits with 130 on the second.
    /// Must be called inside a Tokio runtime.
    pub fn listen_for_signals(&self) {
        let shutdown = self.clone();
        tokio::spawn(async move {
            let mut signals_seen = 0_u32;
            loop {
                if wait_for_signal().await.is_err() {
                    return;
                }
                signals_seen += 1;
                if signals_seen == 1 {
                    tracing::warn!(
                        "interrupted: starting no new writes, letting requests in flight finish (interrupt again to stop at once)"
                    );
                    shutdown.request();
                } else {
                    std::process::exit(130);
                }
            }
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => Ok(()),
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_requested() {
        let shutdown = Shutdown::new();
        let waiter = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move { shutdown.requested().await })
        };
        assert!(!shutdown.is_requested());
        shutdown.request();
        waiter.await.unwrap();
        assert!(shutdown.is_requested());
        shutdown.requested().await;
    }
}
