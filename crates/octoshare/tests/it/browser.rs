//! The status page in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `cargo xtask tools`) opens the page `octoshare reconcile` serves and the test checks what a
//! person sees — one cell per worker × space with its state's label and colour, the legend,
//! the totals — and that the page logged no console error. Chromium is driven over the
//! DevTools protocol (a WebSocket to the page's target).
//!
//! With `OCTOSHARE_SCREENSHOT=PATH` the test also saves a screenshot of the page there.

use crate::reconciler::{Reconciler, command, http};
use crate::support::{POOL, polling, start};
use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// Headless Chromium with the flags a test machine needs (no sandbox as root, no network but
/// the loopback, no first-run work), its DevTools endpoint on a free port.
struct Browser {
    child: Child,
    devtools: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(chromium: &std::path::Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let browser_url = receiver
            .recv_timeout(crate::reconciler::DEADLINE)
            .expect("chromium printed its DevTools address");
        let devtools = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        Browser {
            child,
            devtools: format!("http://{devtools}"),
            _profile: profile,
        }
    }

    /// A DevTools session on the browser's page.
    fn page(&self) -> Session {
        let (code, body) = http(&self.devtools, "GET", "/json/list", &[], &[]);
        assert_eq!(code, 200, "{body}");
        let targets: Value = serde_json::from_str(&body).unwrap();
        let url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|target| target["type"] == "page")
            .and_then(|target| target["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let address = url.trim_start_matches("ws://").split('/').next().unwrap();
        let stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (socket, _) =
            tungstenite::client(url.as_str(), stream).expect("the DevTools WebSocket");
        Session {
            socket,
            next_id: 0,
            events: Vec::new(),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One DevTools protocol session: commands with their answers, events kept in order.
struct Session {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Session {
    fn read(&mut self) -> Value {
        loop {
            match self.socket.read().expect("a DevTools message") {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(_) => panic!("the browser closed the session"),
                _ => {}
            }
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::Text(message.to_string().into()))
            .unwrap();
        loop {
            let message = self.read();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn wait_for_event(&mut self, method: &str) {
        let deadline = Instant::now() + crate::reconciler::DEADLINE;
        if self.events.iter().any(|event| event["method"] == method) {
            return;
        }
        loop {
            let message = self.read();
            let found = message["method"] == method;
            self.events.push(message);
            if found {
                return;
            }
            assert!(Instant::now() < deadline, "no {method}");
        }
    }

    /// Evaluates `expression` (which returns JSON text) in the page.
    fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(result.get("exceptionDetails").is_none(), "{result}");
        serde_json::from_str(result["result"]["value"].as_str().unwrap()).unwrap()
    }

    /// Console errors, uncaught exceptions and browser log errors seen so far.
    fn errors(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter(|event| {
                (event["method"] == "Runtime.consoleAPICalled"
                    && ["error", "assert"]
                        .contains(&event["params"]["type"].as_str().unwrap_or("")))
                    || event["method"] == "Runtime.exceptionThrown"
                    || (event["method"] == "Log.entryAdded"
                        && event["params"]["entry"]["level"] == "error")
            })
            .cloned()
            .collect()
    }
}

/// What the page shows, read as a person reads it: each cell's rendered text and colour with
/// its row and column, the column and row headings, the legend and the verdict.
const READ_PAGE: &str = r#"JSON.stringify({
  cells: [...document.querySelectorAll('#matrix tbody td')].map(td => ({
    worker: td.closest('tr').querySelector('th').firstChild.textContent.trim(),
    space: td.closest('table').querySelectorAll('thead th')[td.cellIndex].firstChild.textContent.trim(),
    text: td.innerText.trim(),
    background: getComputedStyle(td).backgroundColor,
    visible: td.getBoundingClientRect().width > 0 && td.getBoundingClientRect().height > 0,
  })),
  legend: [...document.querySelectorAll('#legend li')].map(li => li.innerText.trim()),
  verdict: document.querySelector('#verdict').innerText.trim(),
  title: document.title,
})"#;

#[test]
fn the_status_page_shows_every_cell_with_its_label_the_legend_and_no_console_error() {
    let Some(chromium) = octoshare_test_support::tools::require("chromium") else {
        return;
    };
    // After a dry run every state is there: shared, missing, not in the pool, stale.
    let emulator = start(
        Scenario::new()
            .space(
                SpaceSeed::new("Alpha")
                    .default_space()
                    .pool(POOL)
                    .worker(polling("worker-1", 1))
                    .worker(polling("worker-2", 2)),
            )
            .space(
                SpaceSeed::new("Beta")
                    .pool(POOL)
                    .pool("Other Pool")
                    .worker(polling("worker-1", 1))
                    .worker(
                        WorkerSeed::polling(
                            "worker-2",
                            &format!("poll://w{:019}/", 2),
                            &format!("{:040X}", 0xABCD_0000_u64 + 2),
                        )
                        .in_pool("Other Pool"),
                    ),
            )
            .space(
                SpaceSeed::new("Delta")
                    .pool(POOL)
                    .worker(polling("worker-1", 99).health("Unavailable")),
            ),
    );
    let mut reconciler = Reconciler::start(
        command(&emulator),
        &["--interval", "1h", "--listen", "127.0.0.1:0", "--dry-run"],
    );
    reconciler.wait_for_cycle("the first cycle", |cycle| cycle["Cycle"] == 1);
    let expected = reconciler.status_json()["Status"].clone();

    let browser = Browser::launch(&chromium);
    let mut page = browser.page();
    page.call("Runtime.enable", json!({}));
    page.call("Log.enable", json!({}));
    page.call("Page.enable", json!({}));
    let url = format!("{}/", reconciler.url.as_deref().unwrap());
    page.call("Page.navigate", json!({"url": url}));
    page.wait_for_event("Page.loadEventFired");
    let seen = page.evaluate(READ_PAGE);

    // One visible cell per worker × space, labelled with its state as the matrix says.
    let spaces: BTreeMap<&str, &str> = expected["Spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|space| {
            (
                space["Id"].as_str().unwrap(),
                space["Name"].as_str().unwrap(),
            )
        })
        .collect();
    let mut want = BTreeMap::new();
    for row in expected["Workers"].as_array().unwrap() {
        for (space_id, cell) in row["Cells"].as_object().unwrap() {
            let label = match cell["State"].as_str().unwrap() {
                "NotInPool" => "not in pool".to_owned(),
                other => other.to_lowercase(),
            };
            want.insert(
                (
                    row["Name"].as_str().unwrap().to_owned(),
                    spaces[space_id.as_str()].to_owned(),
                ),
                label,
            );
        }
    }
    let cells = seen["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * 2, "{seen:#}");
    let mut got = BTreeMap::new();
    let mut colours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for cell in cells {
        assert_eq!(cell["visible"], true, "{cell}");
        let text = cell["text"].as_str().unwrap();
        let label = text.lines().next().unwrap().trim().to_owned();
        colours
            .entry(label.clone())
            .or_default()
            .insert(cell["background"].as_str().unwrap().to_owned());
        got.insert(
            (
                cell["worker"].as_str().unwrap().to_owned(),
                cell["space"].as_str().unwrap().to_owned(),
            ),
            label,
        );
    }
    assert_eq!(got, want, "{seen:#}");
    let states: BTreeSet<&str> = want.values().map(String::as_str).collect();
    assert_eq!(
        states,
        BTreeSet::from(["missing", "not in pool", "shared", "stale"]),
        "every drift state is on the page"
    );
    // One colour per state, and no two states share one.
    let backgrounds: BTreeSet<&String> = colours.values().flatten().collect();
    assert!(colours.values().all(|set| set.len() == 1), "{colours:?}");
    assert_eq!(backgrounds.len(), colours.len(), "{colours:?}");
    // The stale registration is unavailable: the cell says so.
    let stale = cells
        .iter()
        .find(|cell| cell["text"].as_str().unwrap().starts_with("stale"))
        .unwrap();
    assert!(
        stale["text"].as_str().unwrap().contains("unhealthy"),
        "{stale}"
    );

    let legend: Vec<&str> = seen["legend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect();
    for label in [
        "shared",
        "missing",
        "not in pool",
        "stale",
        "unknown",
        "disabled",
        "unhealthy",
    ] {
        assert!(
            legend.iter().any(|item| item.starts_with(label)),
            "{label} not in the legend: {legend:?}"
        );
    }
    assert!(
        seen["verdict"].as_str().unwrap().starts_with("drift:"),
        "{seen:#}"
    );
    assert_eq!(seen["title"], format!("octoshare status: {POOL}"));
    assert!(
        page.errors().is_empty(),
        "console errors: {:#?}",
        page.errors()
    );

    if let Some(path) = std::env::var_os("OCTOSHARE_SCREENSHOT") {
        let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot["data"].as_str().unwrap(),
        )
        .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// Where the first header cell and the first worker cell are, relative to the scrolled matrix,
/// after scrolling it to the far right and bottom.
const SCROLL_AND_MEASURE: &str = r#"(() => {
  const wrap = document.querySelector('.matrix-wrap');
  wrap.scrollLeft = wrap.scrollWidth;
  wrap.scrollTop = wrap.scrollHeight;
  const box = wrap.getBoundingClientRect();
  const header = document.querySelector('#matrix thead th.space:last-child').getBoundingClientRect();
  const rows = document.querySelectorAll('#matrix tbody tr');
  const worker = rows[rows.length - 1].querySelector('th').getBoundingClientRect();
  return JSON.stringify({
    scrolled: [wrap.scrollLeft, wrap.scrollTop],
    cells: document.querySelectorAll('#matrix tbody td').length,
    headerTop: header.top - box.top,
    workerLeft: worker.left - box.left,
    wrapWidth: box.width,
    pageWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
  });
})()"#;

/// 100 workers × 200 spaces: 20 000 cells in a page that scrolls the matrix inside its frame,
/// the space names and worker names staying in view (sticky headers).
#[test]
fn a_large_matrix_scrolls_with_its_headers_in_view() {
    let Some(chromium) = octoshare_test_support::tools::require("chromium") else {
        return;
    };
    let mut source = SpaceSeed::new("Alpha").default_space().pool(POOL);
    for n in 1..=100 {
        source = source.worker(polling(&format!("worker-{n:03}"), n));
    }
    let mut scenario = Scenario::new().space(source);
    for n in 1..=200 {
        scenario = scenario.space(SpaceSeed::new(&format!("Team space {n:03}")).pool(POOL));
    }
    let emulator = start(scenario);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("status.html");
    let run = crate::support::run_of(crate::support::octoshare(&emulator).args([
        "status",
        "--worker-pool",
        POOL,
        "--format",
        "html",
        "--output-file",
        file.to_str().unwrap(),
    ]));
    assert_eq!(run.code, 5, "{run:?}");

    let browser = Browser::launch(&chromium);
    let mut page = browser.page();
    page.call("Runtime.enable", json!({}));
    page.call("Page.enable", json!({}));
    page.call(
        "Page.navigate",
        json!({"url": format!("file://{}", file.display())}),
    );
    page.wait_for_event("Page.loadEventFired");
    let seen = page.evaluate(SCROLL_AND_MEASURE);
    assert_eq!(seen["cells"], 100 * 200, "{seen}");
    let scrolled = seen["scrolled"].as_array().unwrap();
    assert!(
        scrolled.iter().all(|offset| offset.as_f64().unwrap() > 0.0),
        "the matrix scrolls inside its frame: {seen}"
    );
    assert!(
        seen["headerTop"].as_f64().unwrap().abs() <= 2.0,
        "the space names stay at the top: {seen}"
    );
    assert!(
        seen["workerLeft"].as_f64().unwrap().abs() <= 2.0,
        "the worker names stay at the left: {seen}"
    );
    assert!(
        seen["pageWidth"].as_f64().unwrap() <= seen["viewportWidth"].as_f64().unwrap() + 1.0,
        "the page itself does not scroll sideways: {seen}"
    );
    assert!(
        page.errors().is_empty(),
        "console errors: {:#?}",
        page.errors()
    );
}
