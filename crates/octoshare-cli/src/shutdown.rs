//! Graceful interruption: the first SIGINT/SIGTERM cancels the client's waiting (requests,
//! retries, backoff) and asks work to stop starting new writes; a second one ends the process
//! at once. The signal is recorded so the process can exit with 128 + its number.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio_util::sync::CancellationToken;

/// The signal that interrupted the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT (Ctrl+C): exit code 130.
    Interrupt,
    /// SIGTERM: exit code 143.
    Terminate,
}

impl Signal {
    /// 128 + the signal's number, what shells and CI systems expect: 130 or 143.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn to_u8(self) -> u8 {
        self.exit_code()
    }

    fn from_u8(value: u8) -> Option<Signal> {
        match value {
            130 => Some(Signal::Interrupt),
            143 => Some(Signal::Terminate),
            _ => None,
        }
    }
}

/// A shared "please stop": owns the [`CancellationToken`] handed to the client. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<ShutdownState>,
}

#[derive(Debug, Default)]
struct ShutdownState {
    token: CancellationToken,
    /// The first signal's exit code (0 until then, or when requested without a signal).
    signal: AtomicU8,
}

impl Shutdown {
    /// A flag nobody has raised yet.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Raises the flag (without a signal) and cancels the token.
    pub fn request(&self) {
        self.inner.token.cancel();
    }

    /// Records `signal` (the first one wins), raises the flag and cancels the token.
    pub fn request_by(&self, signal: Signal) {
        let _ = self.inner.signal.compare_exchange(
            0,
            signal.to_u8(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.request();
    }

    /// Whether the flag is raised.
    pub fn is_requested(&self) -> bool {
        self.inner.token.is_cancelled()
    }

    /// Completes once the flag is raised.
    pub async fn requested(&self) {
        self.inner.token.cancelled().await;
    }

    /// The token cancelled when the flag is raised: pass it to
    /// [`octoshare_core::ClientBuilder::cancellation`].
    pub fn token(&self) -> CancellationToken {
        self.inner.token.clone()
    }

    /// The signal that raised the flag, if one did.
    pub fn signal(&self) -> Option<Signal> {
        Signal::from_u8(self.inner.signal.load(Ordering::SeqCst))
    }

    /// Raises the flag on the first SIGINT or SIGTERM; on the second, exits at once with 128 +
    /// that signal's number. Must be called inside a Tokio runtime.
    pub fn listen_for_signals(&self) {
        let shutdown = self.clone();
        tokio::spawn(async move {
            let mut signals_seen = 0_u32;
            loop {
                let Ok(signal) = wait_for_signal().await else {
                    return;
                };
                signals_seen += 1;
                if signals_seen == 1 {
                    tracing::warn!(
                        "interrupted ({}): stopping; a write already sent gets up to 2s to finish (interrupt again to stop at once)",
                        signal.name()
                    );
                    shutdown.request_by(signal);
                } else {
                    std::process::exit(i32::from(signal.exit_code()));
                }
            }
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => Ok(Signal::Interrupt),
        _ = terminate.recv() => Ok(Signal::Terminate),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<Signal> {
    tokio::signal::ctrl_c().await.map(|()| Signal::Interrupt)
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
        assert!(!shutdown.token().is_cancelled());
        shutdown.request();
        waiter.await.unwrap();
        assert!(shutdown.is_requested());
        assert!(shutdown.token().is_cancelled());
        assert_eq!(shutdown.signal(), None);
        shutdown.requested().await;
    }

    #[test]
    fn the_first_signal_is_recorded() {
        let shutdown = Shutdown::new();
        shutdown.request_by(Signal::Terminate);
        shutdown.request_by(Signal::Interrupt);
        assert_eq!(shutdown.signal(), Some(Signal::Terminate));
        assert!(shutdown.token().is_cancelled());
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
    }
}
