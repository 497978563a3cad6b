//! Shared helpers: scenarios, a thin HTTP client and JSON accessors.

use octopus_emulator::{Emulator, Scenario, SpaceSeed, WorkerSeed};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const TF_POOL: &str = "AWS Worker Pool TF";
pub const THUMBPRINT: &str = "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A";
pub const POLL_URI: &str = "poll://abcdefghijklmnopqrst/";

/// "Default" (default space) and "Payments", both with the TF pool.
pub fn two_spaces() -> Scenario {
    Scenario::new()
        .space(SpaceSeed::new("Default").default_space().pool(TF_POOL))
        .space(SpaceSeed::new("Payments").pool(TF_POOL))
}

pub fn start(scenario: Scenario) -> Emulator {
    match Emulator::start(scenario) {
        Ok(emulator) => emulator,
        Err(error) => panic!("emulator did not start: {error:#}"),
    }
}

/// A polling worker seed in the TF pool.
pub fn polling(name: &str) -> WorkerSeed {
    WorkerSeed::polling(name, POLL_URI, THUMBPRINT).in_pool(TF_POOL)
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }
}

/// Keys of a JSON object, in order.
pub fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

thread_local! {
    /// One client per test thread (libtest runs each test on its own thread): building a
    /// client loads the system's root certificates, which is slow.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

/// The test thread's HTTP client.
pub fn client() -> reqwest::Client {
    CLIENT.with(reqwest::Client::clone)
}

/// Sends a request with the emulator's admin API key.
pub async fn call(emulator: &Emulator, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let request = client()
        .request(method, format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", emulator.api_key());
    send(request, body).await
}

pub async fn send(request: reqwest::RequestBuilder, body: Option<&Value>) -> Reply {
    let request = match body {
        Some(body) => request.json(body),
        None => request,
    };
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        text,
    }
}

pub async fn get(emulator: &Emulator, path: &str) -> Reply {
    call(emulator, Method::GET, path, None).await
}

/// GET expecting 200 and JSON.
pub async fn get_json(emulator: &Emulator, path: &str) -> Value {
    let reply = get(emulator, path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    reply.json()
}

pub async fn post(emulator: &Emulator, path: &str, body: &Value) -> Reply {
    call(emulator, Method::POST, path, Some(body)).await
}

/// A worker body like the TypeScript client sends for a polling Tentacle.
pub fn worker_body(name: &str, pool_id: &str) -> Value {
    serde_json::json!({
        "Name": name,
        "IsDisabled": false,
        "WorkerPoolIds": [pool_id],
        "Endpoint": {
            "CommunicationStyle": "TentacleActive",
            "Uri": POLL_URI,
            "Thumbprint": THUMBPRINT,
        },
    })
}

/// The id of the named pool in a space.
pub fn pool_id(emulator: &Emulator, space_id: &str, name: &str) -> String {
    emulator
        .worker_pools(space_id)
        .iter()
        .find(|p| p["Name"] == name)
        .and_then(|p| p["Id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no pool {name} in {space_id}"))
}

pub fn space_id(emulator: &Emulator, name: &str) -> String {
    emulator
        .space_id(name)
        .unwrap_or_else(|| panic!("no space {name}"))
}

/// Sends a request with this API key (`X-Octopus-ApiKey`).
pub async fn call_as(
    emulator: &Emulator,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Reply {
    let request = client()
        .request(method, format!("{}{path}", emulator.url()))
        .header("X-Octopus-ApiKey", key);
    send(request, body).await
}

pub async fn put(emulator: &Emulator, path: &str, body: &Value) -> Reply {
    call(emulator, Method::PUT, path, Some(body)).await
}

pub async fn delete(emulator: &Emulator, path: &str) -> Reply {
    call(emulator, Method::DELETE, path, None).await
}

/// The `Errors` of a 400 envelope, asserting the status and `ErrorMessage`.
pub fn validation_errors(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 400, "{}", reply.text);
    let body = reply.json();
    assert_eq!(
        body["ErrorMessage"],
        "There was a problem with your request."
    );
    body["Errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no Errors in {body}"))
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits for a future at most `seconds` (a bound for a loaded machine, not a timing assertion).
pub async fn within<T>(seconds: u64, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("gave up after {seconds} s"))
}
