//! Adaptive concurrency: how many requests the client has in flight at once, adapted to the
//! server's answers like TCP congestion control (additive increase, multiplicative decrease), and
//! the server's `Retry-After` honoured by every request of the client.
//!
//! - The limit starts at the ceiling (`--concurrency`) and never exceeds it.
//! - An *overload signal* — a 429, 503 or 418 answer, or a request that timed out — halves it
//!   (at least 1). Signals from requests sent before the last decrease took effect are part of
//!   the same event and change nothing more (16 requests refused at once halve the limit once,
//!   not 16 times), like TCP's one reduction per window.
//! - Once every request that was in flight at a decrease is answered, and more than one of them
//!   was refused, the limit is at most the number of them the server served (at least 1): a
//!   burst of 16 of which the server served 4 and refused 12 says it serves about 4 at once,
//!   so the next burst is 4, not 8 that would be half refused again.
//! - A `Retry-After` on an overload answer sets a "not before" instant for the whole client: no
//!   request is sent before it, not only the retry of the one that got it.
//! - The limit grows by one per *window* of successful requests: as many answers as the limit,
//!   all sent since the last decrease, during which every slot was in use at least once (a limit
//!   that is not used is not proven, so it does not grow).
//! - Growing back up to the highest limit that has completed such a window since it was last
//!   refused is one step per window. Beyond it (probing a limit never seen to work) the client
//!   also waits, after a decrease, [`PROBE_INTERVAL_FACTOR`] times the pause the server asked
//!   for: a probe that fails costs the whole client that pause, so probing at most once per
//!   eleven pauses keeps the time spent paused by probes to about a tenth. Without a
//!   `Retry-After` this is plain AIMD.
//!
//! [`Controller`] is the decision logic, a plain state machine that takes the time as an
//! argument; [`Limiter`] puts it in front of a semaphore for the client's request loop.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Probing a limit above the highest one known to work waits this many times the last
/// `Retry-After` after the decrease (see the module documentation).
pub const PROBE_INTERVAL_FACTOR: u32 = 10;

/// The client's concurrency as it is now ([`crate::Client::concurrency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConcurrencyState {
    /// The most requests ever in flight at once (`--concurrency`).
    pub ceiling: usize,
    /// The most requests in flight at once now (the ceiling when adaptation is off).
    pub limit: usize,
    /// Requests in flight now.
    pub in_flight: usize,
    /// Whether the limit adapts to the server's answers.
    pub adaptive: bool,
    /// How many times the limit was halved.
    pub decreases: u64,
    /// How many times it grew by one.
    pub increases: u64,
}

/// What one finished request says about the server's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// An answer that shows the server kept up (2xx, and 4xx other than 429/418).
    KeptUp,
    /// The server is overloaded (429, 503, 418) or the request timed out; `pause` is the
    /// server's `Retry-After`, already capped.
    Overloaded { pause: Option<Duration> },
    /// Says nothing about the load (connection refused, 500, cancelled before an answer).
    Neutral,
}

/// How the limit changed after a request finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Unchanged.
    None,
    /// Grew by one.
    Increased { from: usize, to: usize },
    /// Halved.
    Decreased { from: usize, to: usize },
    /// Lowered to what the server served of a burst it mostly refused.
    Capped { from: usize, to: usize },
}

/// A request admitted by the [`Controller`]: the epoch (number of decreases) it was sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    epoch: u64,
}

/// The AIMD state machine (see the module documentation). Time is an argument, so its
/// schedule is tested without a clock.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    ceiling: usize,
    adaptive: bool,
    limit: usize,
    in_flight: usize,
    /// Decreases so far; a request's ticket carries the epoch it was sent in.
    epoch: u64,
    /// Successes of the current epoch since the limit last changed.
    window_successes: usize,
    /// Whether every slot was in use at some point of the current window.
    window_saturated: bool,
    /// The highest limit that completed a saturated window since it was last refused.
    known_good: usize,
    /// Growth beyond `known_good` waits until then.
    probe_after: Option<Instant>,
    /// No request is sent before then (the server's `Retry-After`).
    not_before: Option<Instant>,
    /// Requests that were in flight at the last decrease and are not answered yet ...
    burst_in_flight: usize,
    /// ... how many of those the server served ...
    burst_served: usize,
    /// ... and how many it refused (or timed out).
    burst_refused: usize,
    decreases: u64,
    increases: u64,
}

impl Controller {
    /// Starts at `ceiling` (at least 1); `adaptive` false keeps it there and ignores
    /// `Retry-After` (each request still waits its own).
    pub(crate) fn new(ceiling: usize, adaptive: bool) -> Controller {
        let ceiling = ceiling.max(1);
        Controller {
            ceiling,
            adaptive,
            limit: ceiling,
            in_flight: 0,
            epoch: 0,
            window_successes: 0,
            window_saturated: false,
            known_good: 0,
            probe_after: None,
            not_before: None,
            burst_in_flight: 0,
            burst_served: 0,
            burst_refused: 0,
            decreases: 0,
            increases: 0,
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// No request may be sent before this instant.
    pub(crate) fn not_before(&self) -> Option<Instant> {
        self.not_before
    }

    pub(crate) fn state(&self) -> ConcurrencyState {
        ConcurrencyState {
            ceiling: self.ceiling,
            limit: self.limit,
            in_flight: self.in_flight,
            adaptive: self.adaptive,
            decreases: self.decreases,
            increases: self.increases,
        }
    }

    /// A request is sent (the caller holds one of `limit` slots).
    pub(crate) fn admit(&mut self) -> Ticket {
        self.in_flight += 1;
        if self.in_flight >= self.limit {
            self.window_saturated = true;
        }
        Ticket { epoch: self.epoch }
    }

    /// A request admitted with `ticket` finished at `now` with `signal`.
    pub(crate) fn finish(&mut self, ticket: Ticket, signal: Signal, now: Instant) -> Change {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !self.adaptive {
            return Change::None;
        }
        if ticket.epoch != self.epoch && self.burst_in_flight > 0 {
            return self.burst_answered(signal, now);
        }
        match signal {
            Signal::Neutral => Change::None,
            Signal::KeptUp => self.kept_up(ticket, now),
            Signal::Overloaded { pause } => self.overloaded(ticket, pause, now),
        }
    }

    /// A request that was in flight at the last decrease is answered; the last of them may cap
    /// the limit at what the server served of them.
    fn burst_answered(&mut self, signal: Signal, now: Instant) -> Change {
        self.burst_in_flight -= 1;
        match signal {
            Signal::KeptUp => self.burst_served += 1,
            Signal::Overloaded { pause } => {
                self.burst_refused += 1;
                if let Some(pause) = pause {
                    self.extend_pause(now + pause);
                }
            }
            Signal::Neutral => {}
        }
        if self.burst_in_flight > 0 || self.burst_refused == 0 {
            return Change::None;
        }
        let cap = self.burst_served.max(1);
        self.known_good = self.known_good.min(cap);
        if cap >= self.limit {
            return Change::None;
        }
        let from = self.limit;
        self.limit = cap;
        self.new_window();
        Change::Capped { from, to: cap }
    }

    fn extend_pause(&mut self, until: Instant) {
        self.not_before = Some(self.not_before.map_or(until, |at| at.max(until)));
    }

    fn kept_up(&mut self, ticket: Ticket, now: Instant) -> Change {
        if ticket.epoch != self.epoch {
            return Change::None;
        }
        self.window_successes += 1;
        if self.window_successes < self.limit {
            return Change::None;
        }
        let saturated = self.window_saturated;
        self.new_window();
        if !saturated {
            return Change::None;
        }
        self.known_good = self.known_good.max(self.limit);
        let probing = self.limit + 1 > self.known_good;
        let waiting = self.probe_after.is_some_and(|after| now < after);
        if self.limit >= self.ceiling || (probing && waiting) {
            return Change::None;
        }
        let from = self.limit;
        self.limit += 1;
        self.increases += 1;
        Change::Increased {
            from,
            to: self.limit,
        }
    }

    fn overloaded(&mut self, ticket: Ticket, pause: Option<Duration>, now: Instant) -> Change {
        if let Some(pause) = pause {
            self.extend_pause(now + pause);
        }
        if ticket.epoch != self.epoch {
            // Sent before the last decrease: the same overload event.
            return Change::None;
        }
        let from = self.limit;
        self.known_good = self.known_good.min(from - 1);
        self.limit = (from / 2).max(1);
        self.epoch += 1;
        self.decreases += 1;
        self.burst_in_flight = self.in_flight;
        self.burst_served = 0;
        self.burst_refused = 0;
        self.new_window();
        let resumes = self.not_before.map_or(now, |at| at.max(now));
        self.probe_after = Some(resumes + pause.unwrap_or_default() * PROBE_INTERVAL_FACTOR);
        if self.limit == from {
            Change::None
        } else {
            Change::Decreased {
                from,
                to: self.limit,
            }
        }
    }

    fn new_window(&mut self) {
        self.window_successes = 0;
        self.window_saturated = self.in_flight >= self.limit;
    }
}

/// The [`Controller`] in front of a semaphore: a request holds a [`Slot`] while it is in
/// flight, and waits for the "not before" instant after getting one.
#[derive(Debug)]
pub(crate) struct Limiter {
    semaphore: Semaphore,
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    controller: Controller,
    /// Permits that exist (available in the semaphore or held by a slot); brought to the
    /// controller's limit as slots are released.
    permits: usize,
}

impl Limiter {
    pub(crate) fn new(ceiling: usize, adaptive: bool) -> Limiter {
        let controller = Controller::new(ceiling, adaptive);
        let permits = controller.limit();
        Limiter {
            semaphore: Semaphore::new(permits),
            state: Mutex::new(LimiterState {
                controller,
                permits,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state.
    pub(crate) fn state(&self) -> ConcurrencyState {
        self.lock().controller.state()
    }

    /// Waits for a free slot (first come, first served), then until the "not before" instant.
    /// Dropping the future gives the slot back.
    pub(crate) async fn acquire(&self) -> Slot<'_> {
        // The semaphore is never closed, so this always gets a permit; the slot returns it.
        if let Ok(permit) = self.semaphore.acquire().await {
            permit.forget();
        }
        let mut slot = Slot {
            limiter: self,
            ticket: None,
            released: false,
        };
        loop {
            let not_before = self.lock().controller.not_before();
            match not_before {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => break,
            }
        }
        slot.ticket = Some(self.lock().controller.admit());
        slot
    }

    fn release(&self, ticket: Option<Ticket>, signal: Signal) -> Change {
        let mut state = self.lock();
        let change = match ticket {
            Some(ticket) => state.controller.finish(ticket, signal, Instant::now()),
            None => Change::None,
        };
        let limit = state.controller.limit();
        // This slot's permit first: kept only while there are no more permits than the limit.
        if state.permits > limit {
            state.permits -= 1;
        } else {
            self.semaphore.add_permits(1);
        }
        if state.permits < limit {
            self.semaphore.add_permits(limit - state.permits);
            state.permits = limit;
        } else if state.permits > limit {
            // Free permits go at once; held ones as their slots are released.
            let forgotten = self.semaphore.forget_permits(state.permits - limit);
            state.permits -= forgotten;
        }
        change
    }
}

/// A request's place among the requests in flight; [`Slot::finish`] reports how it ended
/// (dropping it says nothing about the server's load).
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    limiter: &'a Limiter,
    /// `None` until admitted (after the "not before" wait).
    ticket: Option<Ticket>,
    released: bool,
}

impl Slot<'_> {
    /// Frees the slot, telling the controller how the request ended.
    pub(crate) fn finish(mut self, signal: Signal) -> Change {
        self.released = true;
        self.limiter.release(self.ticket, signal)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.released {
            self.limiter.release(self.ticket, Signal::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt as _;

    const MS: Duration = Duration::from_millis(1);
    const SECOND: Duration = Duration::from_secs(1);

    fn overloaded(pause: Option<Duration>) -> Signal {
        Signal::Overloaded { pause }
    }

    /// Sends `limit` requests (every slot in use) and finishes them all with `signal`.
    fn round(controller: &mut Controller, signal: Signal, now: Instant) -> Vec<Change> {
        let tickets: Vec<Ticket> = (0..controller.limit())
            .map(|_| controller.admit())
            .collect();
        tickets
            .into_iter()
            .map(|ticket| controller.finish(ticket, signal, now))
            .collect()
    }

    fn changes(changes: &[Change]) -> Vec<Change> {
        changes
            .iter()
            .copied()
            .filter(|change| *change != Change::None)
            .collect()
    }

    #[test]
    fn starts_at_the_ceiling_and_never_exceeds_it() {
        let now = Instant::now();
        let mut controller = Controller::new(4, true);
        assert_eq!(controller.limit(), 4);
        for _ in 0..10 {
            assert_eq!(changes(&round(&mut controller, Signal::KeptUp, now)), []);
        }
        assert_eq!(controller.limit(), 4);
        assert_eq!(Controller::new(0, true).limit(), 1);
    }

    /// Sends `limit` requests; the server serves `served` of them and refuses the rest with
    /// `pause`, the refusals answered first (as a server refusing at once does).
    fn burst(
        controller: &mut Controller,
        served: usize,
        pause: Option<Duration>,
        now: Instant,
    ) -> Vec<Change> {
        let tickets: Vec<Ticket> = (0..controller.limit())
            .map(|_| controller.admit())
            .collect();
        let (kept, refused) = tickets.split_at(served);
        let mut seen: Vec<Change> = refused
            .iter()
            .map(|ticket| controller.finish(*ticket, overloaded(pause), now))
            .collect();
        seen.extend(
            kept.iter()
                .map(|ticket| controller.finish(*ticket, Signal::KeptUp, now + 20 * MS)),
        );
        changes(&seen)
    }

    #[test]
    fn one_overload_event_halves_once_however_many_requests_it_refuses() {
        let now = Instant::now();
        let mut controller = Controller::new(16, true);
        // 12 of 16 refused: halved once, then, when the burst is all answered, capped at the 4
        // the server served.
        assert_eq!(
            burst(&mut controller, 4, Some(SECOND), now),
            [
                Change::Decreased { from: 16, to: 8 },
                Change::Capped { from: 8, to: 4 }
            ]
        );
        assert_eq!(controller.state().decreases, 1);
        assert_eq!(controller.not_before(), Some(now + SECOND));
        // The next burst was sent after the decrease: a new event. 1 of 4 refused: halved, and
        // the 3 served are more than the half: no cap.
        let later = now + SECOND;
        assert_eq!(
            burst(&mut controller, 3, None, later),
            [Change::Decreased { from: 4, to: 2 }]
        );
        // A burst refused entirely: down to 1, and halving stops there.
        controller.limit = 16;
        assert_eq!(
            burst(&mut controller, 0, None, later),
            [
                Change::Decreased { from: 16, to: 8 },
                Change::Capped { from: 8, to: 1 }
            ]
        );
        assert_eq!(burst(&mut controller, 0, None, later), []);
        assert_eq!(controller.limit(), 1);
    }

    #[test]
    fn a_single_refusal_among_successes_only_halves() {
        let now = Instant::now();
        let mut controller = Controller::new(16, true);
        assert_eq!(
            burst(&mut controller, 15, Some(SECOND), now),
            [Change::Decreased { from: 16, to: 8 }]
        );
        assert_eq!(controller.limit(), 8);
    }

    fn changes_of(controller: &mut Controller, signal: Signal, now: Instant) -> Vec<Change> {
        changes(&round(controller, signal, now))
    }

    #[test]
    fn a_timeout_or_503_without_retry_after_halves_without_pausing() {
        let now = Instant::now();
        let mut controller = Controller::new(10, true);
        let ticket = controller.admit();
        assert_eq!(
            controller.finish(ticket, overloaded(None), now),
            Change::Decreased { from: 10, to: 5 }
        );
        assert_eq!(controller.not_before(), None);
    }

    #[test]
    fn grows_by_one_per_saturated_window_of_successes() {
        let now = Instant::now();
        let mut controller = Controller::new(8, true);
        let ticket = controller.admit();
        controller.finish(ticket, overloaded(None), now);
        assert_eq!(controller.limit(), 4);
        // Without a Retry-After there is no probe guard: one step per window up to the ceiling.
        let mut limits = Vec::new();
        for _ in 0..4 {
            round(&mut controller, Signal::KeptUp, now);
            limits.push(controller.limit());
        }
        assert_eq!(limits, [5, 6, 7, 8]);
        assert_eq!(controller.state().increases, 4);
    }

    #[test]
    fn an_unused_limit_does_not_grow() {
        let now = Instant::now();
        let mut controller = Controller::new(8, true);
        let ticket = controller.admit();
        controller.finish(ticket, overloaded(None), now);
        assert_eq!(controller.limit(), 4);
        // One request at a time: 100 successes, never 4 in flight.
        for _ in 0..100 {
            let ticket = controller.admit();
            assert_eq!(controller.finish(ticket, Signal::KeptUp, now), Change::None);
        }
        assert_eq!(controller.limit(), 4);
    }

    #[test]
    fn successes_sent_before_a_decrease_do_not_count() {
        let now = Instant::now();
        let mut controller = Controller::new(4, true);
        let old: Vec<Ticket> = (0..4).map(|_| controller.admit()).collect();
        controller.finish(old[0], overloaded(None), now);
        assert_eq!(controller.limit(), 2);
        for ticket in &old[1..] {
            assert_eq!(
                controller.finish(*ticket, Signal::KeptUp, now),
                Change::None
            );
        }
        assert_eq!(controller.window_successes, 0);
    }

    #[test]
    fn probing_beyond_the_known_good_limit_waits_ten_pauses() {
        let start = Instant::now();
        let mut controller = Controller::new(16, true);
        // 12 of 16 refused with Retry-After: 1 s: the limit is 4, no request before start + 1 s,
        // and no probe above 4 before 1 s + 10 × 1 s.
        burst(&mut controller, 4, Some(SECOND), start);
        assert_eq!(controller.limit(), 4);
        let resumed = controller.not_before().unwrap();
        assert_eq!(resumed, start + SECOND);
        let probe_at = resumed + PROBE_INTERVAL_FACTOR * SECOND;
        // Windows at 4 succeed (4 is now known to work) but 5 is not tried yet.
        let mut now = resumed;
        while now + 20 * MS < probe_at {
            now += 20 * MS;
            assert_eq!(changes_of(&mut controller, Signal::KeptUp, now), []);
        }
        assert_eq!(controller.known_good, 4);
        assert_eq!(
            changes_of(&mut controller, Signal::KeptUp, probe_at),
            [Change::Increased { from: 4, to: 5 }]
        );
        // The probe is refused: halve to 2 and pause 1 s ...
        let refused_at = probe_at + 20 * MS;
        let tickets: Vec<Ticket> = (0..5).map(|_| controller.admit()).collect();
        assert_eq!(
            controller.finish(tickets[4], overloaded(Some(SECOND)), refused_at),
            Change::Decreased { from: 5, to: 2 }
        );
        for ticket in &tickets[..4] {
            controller.finish(*ticket, Signal::KeptUp, refused_at + 5 * MS);
        }
        // ... then back to 4 at one step per window (4 is known to work), and 5 only ten
        // pauses after this one ended.
        let resumed = refused_at + SECOND;
        assert_eq!(
            changes_of(&mut controller, Signal::KeptUp, resumed),
            [Change::Increased { from: 2, to: 3 }]
        );
        assert_eq!(
            changes_of(&mut controller, Signal::KeptUp, resumed),
            [Change::Increased { from: 3, to: 4 }]
        );
        let next_probe = resumed + PROBE_INTERVAL_FACTOR * SECOND;
        assert_eq!(
            changes_of(&mut controller, Signal::KeptUp, next_probe - MS),
            []
        );
        assert_eq!(
            changes_of(&mut controller, Signal::KeptUp, next_probe),
            [Change::Increased { from: 4, to: 5 }]
        );
    }

    #[test]
    fn a_limit_refused_again_is_no_longer_known_good() {
        let now = Instant::now();
        let mut controller = Controller::new(8, true);
        round(&mut controller, Signal::KeptUp, now);
        assert_eq!(controller.known_good, 8);
        // The server's capacity drops: 8 is refused, so only up to 7 is regained quickly.
        let ticket = controller.admit();
        controller.finish(ticket, overloaded(Some(SECOND)), now);
        assert_eq!((controller.limit(), controller.known_good), (4, 7));
    }

    #[test]
    fn fixed_concurrency_never_changes_and_ignores_retry_after() {
        let now = Instant::now();
        let mut controller = Controller::new(16, false);
        assert_eq!(
            changes_of(&mut controller, overloaded(Some(SECOND)), now),
            []
        );
        assert_eq!(controller.limit(), 16);
        assert_eq!(controller.not_before(), None);
        assert!(!controller.state().adaptive);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_new_request_of_the_client() {
        let limiter = Limiter::new(4, true);
        let start = Instant::now();
        let refused = limiter.acquire().await;
        let in_flight = limiter.acquire().await;
        refused.finish(overloaded(Some(SECOND)));
        // A request already in flight is not affected; a new one waits for the pause.
        in_flight.finish(Signal::KeptUp);
        let next = limiter.acquire().await;
        assert_eq!(Instant::now() - start, SECOND);
        next.finish(Signal::KeptUp);
        assert_eq!(limiter.state().limit, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn slots_follow_the_limit_down_and_up() {
        let limiter = Limiter::new(4, true);
        let held: Vec<Slot<'_>> =
            futures::future::join_all((0..4).map(|_| limiter.acquire())).await;
        let mut held = held.into_iter();
        held.next().unwrap().finish(overloaded(None));
        assert_eq!(limiter.state().limit, 2);
        // Three still in flight, the limit is 2: nothing more is admitted until two end.
        let waiting = limiter.acquire();
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        held.next().unwrap().finish(Signal::KeptUp);
        assert!(futures::poll!(&mut waiting).is_pending());
        held.next().unwrap().finish(Signal::KeptUp);
        let third = waiting.await;
        assert_eq!(limiter.state().in_flight, 2);
        // A slot dropped while waiting for a pause gives its permit back.
        drop(held);
        drop(third);
        assert_eq!(limiter.state().in_flight, 0);
        let both = futures::future::join_all((0..2).map(|_| limiter.acquire())).await;
        let waiting = limiter.acquire();
        tokio::pin!(waiting);
        assert!(futures::poll!(&mut waiting).is_pending());
        drop(both);
        drop(waiting.await);
    }

    /// A server that handles at most `capacity` requests at once in `latency` and refuses the
    /// rest with `Retry-After: 1`, behind the limiter; each request is retried like the
    /// client's loop does (up to 6 attempts, the retry waiting the `Retry-After`), `window`
    /// of them at once. Returns (virtual time taken, requests that failed, refusals).
    async fn simulate(
        adaptive: bool,
        requests: usize,
        window: usize,
        capacity: usize,
        latency: Duration,
    ) -> (Duration, usize, usize) {
        let limiter = Limiter::new(16, adaptive);
        let in_server = AtomicUsize::new(0);
        let refusals = AtomicUsize::new(0);
        let start = Instant::now();
        let failures = futures::stream::iter(0..requests)
            .map(|_| async {
                for _attempt in 0..6 {
                    let slot = limiter.acquire().await;
                    // 1 ms on the way to the server and 1 ms back: a burst is all sent before
                    // the first answer arrives, as over a network.
                    tokio::time::sleep(MS).await;
                    if in_server.fetch_add(1, Ordering::SeqCst) < capacity {
                        tokio::time::sleep(latency).await;
                        in_server.fetch_sub(1, Ordering::SeqCst);
                        tokio::time::sleep(MS).await;
                        slot.finish(Signal::KeptUp);
                        return true;
                    }
                    in_server.fetch_sub(1, Ordering::SeqCst);
                    refusals.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(MS).await;
                    slot.finish(overloaded(Some(SECOND)));
                    tokio::time::sleep(SECOND).await;
                }
                false
            })
            .buffer_unordered(window)
            .filter(|done| std::future::ready(!done))
            .count()
            .await;
        (
            Instant::now() - start,
            failures,
            refusals.load(Ordering::SeqCst),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_serving_four_at_once_is_used_fully_with_few_refusals() {
        // The bench's throttled scenario in virtual time: 2,590 requests, 16 at once, a server
        // serving 4 at once in 20 ms: the bound is ceil(2590 / 4) × 20 ms = 12.96 s.
        let latency = 20 * MS;
        let bound = latency * 2590_u32.div_ceil(4);
        let (took, failures, refusals) = simulate(true, 2590, 16, 4, latency).await;
        assert_eq!(failures, 0);
        assert!(
            took <= bound.mul_f64(1.5),
            "{took:?} against a bound of {bound:?}"
        );
        // The first burst (12 of 16, after which the limit is the 4 served), then one refused
        // probe per eleven seconds at most.
        assert!(refusals <= 12 + 2, "{refusals} refusals");

        // With the limit fixed at 16 each request waits only for its own Retry-After: the
        // refused ones come back together, are refused together, and some run out of attempts.
        let (_, fixed_failures, fixed_refusals) = simulate(false, 2590, 16, 4, latency).await;
        assert!(fixed_failures > 0);
        assert!(
            fixed_refusals > 5 * refusals,
            "fixed {fixed_refusals}, adaptive {refusals}"
        );
    }
}
