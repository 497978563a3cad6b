//! The polling schedule, asserted exactly: the loop runs under `tokio::time::pause` against a
//! scripted pool (a [`PoolWorkers`] whose answers depend on the virtual time), so "poll at
//! once, then every interval from the previous start, the last one no later than the deadline"
//! is checked to the millisecond with minutes-long intervals, and no test sleeps for real.

use std::cell::RefCell;
use std::time::Duration;

use octoshare_core::domain::{PoolRef, ResolvedTarget, SpaceRef};
use octoshare_core::{ApiError, Worker};
use octoshare_wait::{
    PollCounted, PollFailed, PoolWorkers, WaitConfig, WaitError, WaitOutcome, WaitSink, WaitStatus,
    wait_for_workers,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

fn target() -> ResolvedTarget {
    ResolvedTarget::new(
        SpaceRef::new("Spaces-2", "Payments"),
        PoolRef::new("WorkerPools-4", "AWS Worker Pool TF"),
    )
}

fn worker(name: &str, health: &str) -> Worker {
    serde_json::from_value(serde_json::json!({
        "Id": format!("Workers-{name}"),
        "Name": name,
        "SpaceId": "Spaces-2",
        "WorkerPoolIds": ["WorkerPools-4"],
        "MachinePolicyId": "MachinePolicies-2",
        "IsDisabled": false,
        "HealthStatus": health,
        "Endpoint": {
            "CommunicationStyle": "TentacleActive",
            "Uri": "poll://abcdefghijklmnopqrst/",
            "Thumbprint": "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A"
        }
    }))
    .expect("a worker document")
}

/// What the scripted pool answers to one poll.
enum Answer {
    /// These workers, after `took` (virtual time).
    Workers {
        took: Duration,
        workers: Vec<Worker>,
    },
    /// This error, at once.
    Fail(ApiError),
    /// Never answers.
    Hang,
}

fn unavailable() -> ApiError {
    ApiError::Server {
        method: "GET".into(),
        path: "/api/Spaces-2/workerpools/WorkerPools-4/workers".into(),
        status: 503,
        message: "Service Unavailable".into(),
        attempts: 1,
    }
}

/// A pool whose answer to poll `n` (0-based) at virtual time `t` is `script(n, t)`; it records
/// when each poll started.
struct ScriptedPool<F> {
    start: Instant,
    script: F,
    polls: RefCell<Vec<Duration>>,
}

impl<F: Fn(usize, Duration) -> Answer> ScriptedPool<F> {
    fn new(script: F) -> Self {
        ScriptedPool {
            start: Instant::now(),
            script,
            polls: RefCell::default(),
        }
    }

    /// When each poll started, from the start of the test.
    fn polls(&self) -> Vec<Duration> {
        self.polls.borrow().clone()
    }
}

impl<F: Fn(usize, Duration) -> Answer> PoolWorkers for ScriptedPool<F> {
    async fn pool_workers(&self, target: &ResolvedTarget) -> Result<Vec<Worker>, ApiError> {
        assert_eq!(target, &self::target());
        let at = self.start.elapsed();
        let poll = {
            let mut polls = self.polls.borrow_mut();
            polls.push(at);
            polls.len() - 1
        };
        match (self.script)(poll, at) {
            Answer::Workers { took, workers } => {
                tokio::time::sleep(took).await;
                Ok(workers)
            }
            Answer::Fail(error) => Err(error),
            Answer::Hang => std::future::pending().await,
        }
    }
}

/// Workers registered at the given times: those registered by `t` are in the pool at `t`.
fn registered(schedule: &[(u64, &str)], at: Duration) -> Answer {
    Answer::Workers {
        took: Duration::ZERO,
        workers: schedule
            .iter()
            .filter(|(after, _)| secs(*after) <= at)
            .map(|(_, name)| worker(name, "Healthy"))
            .collect(),
    }
}

/// What the sink heard, stamped with the virtual time.
#[derive(Debug, Default)]
struct Heard {
    start: Option<Instant>,
    counted: Vec<(Duration, u64, Vec<String>)>,
    failed: Vec<(Duration, u32, String, Duration)>,
}

impl WaitSink for Heard {
    fn counted(&mut self, count: &PollCounted<'_>) {
        let at = self.start.expect("started").elapsed();
        self.counted
            .push((at, count.count, count.newly_counted.to_vec()));
    }

    fn poll_failed(&mut self, failure: &PollFailed<'_>) {
        let at = self.start.expect("started").elapsed();
        self.failed.push((
            at,
            failure.poll,
            failure.error.to_owned(),
            failure.time_left,
        ));
    }
}

fn config(count: u64, timeout: Duration, poll_interval: Duration) -> WaitConfig {
    WaitConfig {
        count,
        timeout,
        poll_interval,
        healthy_only: false,
    }
}

async fn run(
    pool: &impl PoolWorkers,
    config: &WaitConfig,
    cancel: &CancellationToken,
) -> (Result<WaitOutcome, WaitError>, Heard) {
    let mut heard = Heard {
        start: Some(Instant::now()),
        ..Heard::default()
    };
    let result = wait_for_workers(pool, &target(), config, &mut heard, cancel).await;
    (result, heard)
}

fn times(seconds: &[u64]) -> Vec<Duration> {
    seconds.iter().copied().map(secs).collect()
}

#[tokio::test(start_paused = true)]
async fn polls_at_once_then_every_interval_and_ends_on_the_first_poll_that_sees_enough() {
    let schedule = [(25, "worker-b"), (42, "worker-a")];
    let pool = ScriptedPool::new(|_, at| registered(&schedule, at));

    let (result, heard) = run(
        &pool,
        &config(2, secs(1200), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    assert_eq!(pool.polls(), times(&[0, 10, 20, 30, 40, 50]));
    assert_eq!(outcome.status, WaitStatus::Satisfied);
    assert_eq!(outcome.polls, 6);
    assert_eq!(outcome.elapsed, secs(50));
    assert_eq!(outcome.registered_worker_names, ["worker-a", "worker-b"]);
    let newly: Vec<(Duration, Vec<String>)> = heard
        .counted
        .into_iter()
        .filter(|(_, _, newly)| !newly.is_empty())
        .map(|(at, _, newly)| (at, newly))
        .collect();
    assert_eq!(
        newly,
        [
            (secs(30), vec!["worker-b".to_owned()]),
            (secs(50), vec!["worker-a".to_owned()])
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn enough_workers_at_the_start_end_the_wait_on_the_first_poll() {
    let pool = ScriptedPool::new(|_, at| registered(&[(0, "a"), (0, "b"), (0, "c")], at));

    let (result, _) = run(
        &pool,
        &config(2, secs(600), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    assert_eq!(pool.polls(), [Duration::ZERO]);
    assert_eq!(
        (outcome.status, outcome.count, outcome.elapsed),
        (WaitStatus::Satisfied, 3, Duration::ZERO)
    );
}

#[tokio::test(start_paused = true)]
async fn the_interval_counts_from_the_start_of_the_previous_poll() {
    // Each poll takes 4 s: the next still starts 10 s after the previous one started. A poll
    // slower than the interval (the third, 15 s) is followed at once, never overlapped.
    let pool = ScriptedPool::new(|poll, _| Answer::Workers {
        took: if poll == 2 { secs(15) } else { secs(4) },
        workers: Vec::new(),
    });

    let (result, _) = run(
        &pool,
        &config(1, secs(60), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    assert_eq!(pool.polls(), times(&[0, 10, 20, 35, 45, 55, 60]));
    assert_eq!(outcome.status, WaitStatus::TimedOut);
    assert_eq!(
        outcome.elapsed,
        secs(64),
        "the last poll, started at the deadline, finished"
    );
}

#[tokio::test(start_paused = true)]
async fn the_last_poll_starts_at_the_deadline_and_the_timeout_names_what_was_seen() {
    let pool = ScriptedPool::new(|_, at| registered(&[(0, "worker-a")], at));

    let (result, _) = run(
        &pool,
        &config(3, secs(55), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    // 0..50 every 10 s, then one more at the deadline (55 s), not at 60 s.
    assert_eq!(pool.polls(), times(&[0, 10, 20, 30, 40, 50, 55]));
    assert_eq!(outcome.status, WaitStatus::TimedOut);
    assert_eq!(outcome.elapsed, secs(55));
    assert_eq!((outcome.count, outcome.required), (1, 3));
    assert_eq!(outcome.registered_worker_names, ["worker-a"]);
    assert_eq!(outcome.last_error, None);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_reported_and_polling_goes_on_at_the_same_pace() {
    let pool = ScriptedPool::new(|poll, at| {
        if poll < 2 {
            Answer::Fail(unavailable())
        } else {
            registered(&[(0, "worker-a")], at)
        }
    });

    let (result, heard) = run(
        &pool,
        &config(1, secs(300), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    assert_eq!(pool.polls(), times(&[0, 10, 20]));
    assert_eq!(outcome.status, WaitStatus::Satisfied);
    assert_eq!(outcome.last_error, None, "the successful poll clears it");
    let failed: Vec<(Duration, u32, Duration)> = heard
        .failed
        .iter()
        .map(|(at, poll, _, left)| (*at, *poll, *left))
        .collect();
    assert_eq!(failed, [(secs(0), 1, secs(300)), (secs(10), 2, secs(290))]);
    assert_eq!(heard.failed[0].2, unavailable().to_string());
}

#[tokio::test(start_paused = true)]
async fn failing_until_the_deadline_times_out_with_the_last_error() {
    let pool = ScriptedPool::new(|_, _| Answer::Fail(unavailable()));

    let (result, heard) = run(
        &pool,
        &config(1, secs(30), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("a timeout is not an error");

    assert_eq!(pool.polls(), times(&[0, 10, 20, 30]));
    assert_eq!(outcome.status, WaitStatus::TimedOut);
    assert_eq!(outcome.last_error, Some(unavailable().to_string()));
    assert_eq!(
        heard.failed.last().map(|failure| failure.3),
        Some(Duration::ZERO),
        "the last poll has no time left"
    );
}

#[tokio::test(start_paused = true)]
async fn a_poll_hanging_before_the_deadline_is_abandoned_at_the_deadline() {
    let pool = ScriptedPool::new(|poll, at| {
        if poll == 1 {
            Answer::Hang
        } else {
            registered(&[], at)
        }
    });

    let (result, _) = run(
        &pool,
        &config(1, secs(30), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("a timeout is not an error");

    assert_eq!(pool.polls(), times(&[0, 10]));
    assert_eq!(outcome.status, WaitStatus::TimedOut);
    assert_eq!(outcome.elapsed, secs(30));
    assert_eq!(
        outcome.last_error.as_deref(),
        Some("no answer before the deadline: the poll was abandoned")
    );
}

#[tokio::test(start_paused = true)]
async fn a_poll_hanging_at_the_deadline_gets_one_more_interval() {
    let pool = ScriptedPool::new(|poll, at| {
        if poll == 3 {
            Answer::Hang
        } else {
            registered(&[], at)
        }
    });

    let (result, _) = run(
        &pool,
        &config(1, secs(30), secs(10)),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("a timeout is not an error");

    assert_eq!(pool.polls(), times(&[0, 10, 20, 30]));
    assert_eq!(outcome.elapsed, secs(40));
    assert_eq!(outcome.status, WaitStatus::TimedOut);
    assert!(outcome.last_error.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_refusal_ends_the_wait_at_once() {
    let pool = ScriptedPool::new(|_, _| {
        Answer::Fail(ApiError::Forbidden {
            method: "GET".into(),
            path: "/api/Spaces-2/workerpools/WorkerPools-4/workers".into(),
            message: "Missing permission: WorkerView".into(),
        })
    });
    let started = Instant::now();

    let (result, _) = run(
        &pool,
        &config(1, secs(300), secs(10)),
        &CancellationToken::new(),
    )
    .await;

    let Err(WaitError::ReadWorkers {
        target: failed,
        error,
    }) = result
    else {
        panic!("{result:?}");
    };
    assert_eq!(failed, target());
    assert_eq!(error.status(), Some(403));
    assert_eq!(pool.polls(), [Duration::ZERO]);
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn cancellation_ends_the_wait_between_polls_and_during_one() {
    for (hang, cancel_at, expected_polls) in [(None, 25, 3), (Some(2), 25, 3)] {
        let pool = ScriptedPool::new(move |poll, at| {
            if Some(poll) == hang {
                Answer::Hang
            } else {
                registered(&[], at)
            }
        });
        let cancel = CancellationToken::new();
        let canceller = tokio::spawn({
            let cancel = cancel.clone();
            async move {
                tokio::time::sleep(secs(cancel_at)).await;
                cancel.cancel();
            }
        });

        let (result, _) = run(&pool, &config(1, secs(600), secs(10)), &cancel).await;
        let outcome = result.expect("an interruption is not an error");
        canceller.await.expect("the canceller ran");

        assert_eq!(outcome.status, WaitStatus::Interrupted);
        assert_eq!(outcome.elapsed, secs(cancel_at), "hang {hang:?}");
        assert_eq!(pool.polls().len(), expected_polls);
    }
}

#[tokio::test(start_paused = true)]
async fn a_zero_interval_is_read_as_one_millisecond() {
    let pool = ScriptedPool::new(|_, at| registered(&[], at));

    let (result, _) = run(
        &pool,
        &config(1, Duration::from_millis(3), Duration::ZERO),
        &CancellationToken::new(),
    )
    .await;
    let outcome = result.expect("the wait runs");

    assert_eq!(
        pool.polls(),
        [0, 1, 2, 3].map(Duration::from_millis),
        "never back to back"
    );
    assert_eq!(outcome.status, WaitStatus::TimedOut);
}
