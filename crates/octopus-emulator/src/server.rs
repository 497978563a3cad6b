//! The running emulator: a hyper accept loop on the emulator's own thread and runtime, the
//! timer that applies scheduled events, and the [`Emulator`] handle's basic accessors (its
//! runtime controls are in `control.rs`).

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::App;
use crate::fault::Fault;
use crate::request_log::LoggedRequest;
use crate::routes::router;
use crate::service::handle;
use crate::store::{NameFilter, WorkerFilter};

/// A running emulator. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct Emulator {
    address: SocketAddr,
    pub(crate) app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1` with a free port, on its own thread and tokio runtime
    /// (so it works from sync tests, process tests and `#[tokio::test]` alike). Returns once
    /// the socket is listening.
    pub fn start(scenario: crate::Scenario) -> anyhow::Result<Emulator> {
        Emulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
    }

    /// Starts an emulator listening on `address` (port 0 picks a free port).
    pub fn start_on(address: SocketAddr, scenario: crate::Scenario) -> anyhow::Result<Emulator> {
        Emulator::start_with(address, scenario, 1)
    }

    /// Starts an emulator that serves requests on `threads` threads (a multi-threaded tokio
    /// runtime; 1: one thread, as [`Emulator::start`]). A real Octopus Server handles requests
    /// in parallel; with one thread the emulator handles the answers of concurrent requests one
    /// after another, which the benchmarks would count against the client.
    pub fn start_threaded(scenario: crate::Scenario, threads: usize) -> anyhow::Result<Emulator> {
        Emulator::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), scenario, threads)
    }

    fn start_with(
        address: SocketAddr,
        scenario: crate::Scenario,
        threads: usize,
    ) -> anyhow::Result<Emulator> {
        let started = Instant::now();
        let app = Arc::new(App::new(&scenario, started)?);
        let listener =
            StdTcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = if threads > 1 {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .context("cannot build the emulator's tokio runtime")?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (shutdown, shutdown_signal) = oneshot::channel();
        let thread_app = Arc::clone(&app);
        let thread = std::thread::Builder::new()
            .name(format!("octopus-emulator-{}", address.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, thread_app, shutdown_signal));
            })
            .context("cannot spawn the emulator thread")?;
        tracing::debug!(%address, "octopus emulator listening");
        Ok(Emulator {
            address,
            app,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// An admin API key (`API-` + upper-case letters and digits): every permission in every
    /// space, `SpaceView` and `SpaceCreate`.
    pub fn api_key(&self) -> String {
        self.app.keys().api_key.clone()
    }

    /// A read-only API key: every `...View` permission in every space (and `SpaceView`), so
    /// every read succeeds and every write is refused with 403 naming the edit permission.
    pub fn read_only_api_key(&self) -> String {
        self.app.keys().read_only_api_key.clone()
    }

    /// A token accepted as `Authorization: Bearer <token>` (admin rights).
    pub fn access_token(&self) -> String {
        self.app.keys().access_token.clone()
    }

    /// Every request so far (the last [`crate::REQUEST_LOG_CAPACITY`]), in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.app.log().snapshot()
    }

    /// Waits until the request log satisfies `condition` (checked now and after every change
    /// of the log: an arrival, a fault, a finished request). Lets tests synchronise with the
    /// server without sleeping; wrap it in a timeout.
    pub async fn wait_for_requests(&self, condition: impl Fn(&[LoggedRequest]) -> bool) {
        let mut changes = self.app.log().subscribe();
        loop {
            if condition(&self.requests()) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        self.app.log().clear();
    }

    /// How many logged requests used `method` (case-insensitive).
    pub fn count(&self, method: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .count()
    }

    /// Arms another fault (after those already armed).
    pub fn add_fault(&self, fault: Fault) {
        self.app.faults().add(fault);
    }

    /// Disarms every fault (the random generator keeps its position).
    pub fn clear_faults(&self) {
        self.app.faults().clear();
    }

    /// Makes `/api/octopusservernodes/ping` answer 418 (`true`) or 200 (`false`).
    pub fn set_draining(&self, draining: bool) {
        self.app.set_draining(draining);
    }

    /// The id (`Spaces-N`) of the space with this name (case-insensitive).
    pub fn space_id(&self, name: &str) -> Option<String> {
        self.app.store().space_id_by_name(name)
    }

    /// The workers of a space as `GET /api/{spaceId}/workers/all` returns them (empty if the
    /// space does not exist).
    pub fn workers(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .workers(space_id, &WorkerFilter::default())
            .unwrap_or_default()
    }

    /// The worker pools of a space as `/workerpools/all` returns them.
    pub fn worker_pools(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .worker_pools(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// The step templates of a space as `/actiontemplates/all` returns them.
    pub fn action_templates(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .action_templates(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// The machine policies of a space as `/machinepolicies/all` returns them.
    pub fn machine_policies(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .machine_policies(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// The proxies of a space as `/proxies/all` returns them.
    pub fn proxies(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .proxies(space_id, &NameFilter::default())
            .unwrap_or_default()
    }

    /// The accounts of a space as `/accounts/all` returns them.
    pub fn accounts(&self, space_id: &str) -> Vec<Value> {
        self.app
            .store()
            .accounts(space_id, &NameFilter::default())
            .unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until shutdown; scheduled events also fire from a timer so they happen
/// on time even when no request arrives.
async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: oneshot::Receiver<()>) {
    tokio::spawn(schedule_timer(Arc::clone(&app)));
    let router = router(Arc::clone(&app));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&app);
                    let router = router.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            handle(Arc::clone(&app), router.clone(), request)
                        });
                        if let Err(error) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!("emulator connection ended: {error}");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!("emulator accept failed: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Applies scheduled events when they fall due; re-arms when events are added at runtime.
async fn schedule_timer(app: Arc<App>) {
    loop {
        let changed = app.schedule_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let next_due = app.store().next_due();
        match next_due {
            Some(due) => {
                tokio::select! {
                    () = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => app.apply_due(),
                    () = &mut changed => {}
                }
            }
            None => changed.await,
        }
    }
}
