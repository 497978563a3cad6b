//! Fault injection: which requests a fault matches, how often it fires, and what it does.

use std::time::Duration;

use anyhow::bail;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What an injected fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Sleep this long before handling the request, then handle it normally.
    /// Latency faults add up and do not stop other faults from firing.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Sleep this long, then close the connection without a response. The request is never
    /// handled, so nothing is committed whether or not the client timed out first.
    Stall {
        /// How long the server hangs, in milliseconds.
        ms: u64,
    },
    /// Answer with this status and an Octopus error body without touching any state
    /// (e.g. 500, 503, 429 with `Retry-After`, 418).
    Status {
        /// HTTP status code.
        code: u16,
        /// Value of the `Retry-After` header, if any.
        retry_after_seconds: Option<u64>,
    },
    /// Close the connection without any response and without touching state.
    Drop,
    /// Handle the request (state changes happen), then answer 500.
    CommitThen500,
    /// Handle the request (state changes happen), then close the connection without a response.
    CommitThenDrop,
}

impl FaultKind {
    /// The kind's name as written in scenario files and recorded in the request log.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Stall { .. } => "stall",
            FaultKind::Status { .. } => "status",
            FaultKind::Drop => "drop",
            FaultKind::CommitThen500 => "commitThen500",
            FaultKind::CommitThenDrop => "commitThenDrop",
        }
    }
}

/// A fault: which requests it matches (`method`, `path`), how often it fires (`rate`, `limit`)
/// and what it does ([`FaultKind`]).
///
/// `path` is matched segment by segment, case-insensitively, against the request path as sent
/// (before legacy routes are mapped to the default space): `*` matches one segment and a trailing
/// `/**` matches any number of further segments (including none). The default path `/**` matches
/// every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultDocument", into = "FaultDocument")]
pub struct Fault {
    method: Option<String>,
    path: String,
    rate: f64,
    limit: Option<u32>,
    kind: FaultKind,
}

impl Fault {
    /// A fault of this kind matching every request, always firing, without limit.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            method: None,
            path: "/**".to_owned(),
            rate: 1.0,
            limit: None,
            kind,
        }
    }

    /// Adds `delay` before the request is handled.
    pub fn latency(delay: Duration) -> Self {
        Fault::new(FaultKind::Latency { ms: millis(delay) })
    }

    /// Hangs for `delay`, then closes the connection; the request is never handled.
    pub fn stall(delay: Duration) -> Self {
        Fault::new(FaultKind::Stall { ms: millis(delay) })
    }

    /// Answers `code` with an Octopus error body; see [`Fault::retry_after`].
    pub fn status(code: u16) -> Self {
        Fault::new(FaultKind::Status {
            code,
            retry_after_seconds: None,
        })
    }

    /// Adds a `Retry-After: seconds` header to a [`Fault::status`] response (no effect on other kinds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        if let FaultKind::Status {
            retry_after_seconds,
            ..
        } = &mut self.kind
        {
            *retry_after_seconds = Some(seconds);
        }
        self
    }

    /// Closes the connection without a response.
    pub fn drop_connection() -> Self {
        Fault::new(FaultKind::Drop)
    }

    /// Commits the request, then answers 500.
    pub fn commit_then_500() -> Self {
        Fault::new(FaultKind::CommitThen500)
    }

    /// Commits the request, then closes the connection without a response.
    pub fn commit_then_drop() -> Self {
        Fault::new(FaultKind::CommitThenDrop)
    }

    /// Matches only this HTTP method (case-insensitive).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Matches only this path pattern (`*` = one segment, trailing `/**` = any suffix).
    pub fn path(mut self, pattern: &str) -> Self {
        self.path = pattern.to_owned();
        self
    }

    /// Fires with this probability (0..=1) on each matching request, drawn from the scenario's
    /// seeded generator.
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = rate;
        self
    }

    /// Fires at most `times` times.
    pub fn limit(mut self, times: u32) -> Self {
        self.limit = Some(times);
        self
    }

    /// What the fault does.
    pub fn kind(&self) -> &FaultKind {
        &self.kind
    }

    /// The kind's name, as recorded in the request log.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.rate) {
            bail!("`rate` must be between 0 and 1 (got {})", self.rate);
        }
        if !self.path.starts_with('/') {
            bail!("`path` must start with '/' (got '{}')", self.path);
        }
        if self.method.as_deref().is_some_and(|m| m.trim().is_empty()) {
            bail!("`method` must not be empty");
        }
        if let FaultKind::Status { code, .. } = self.kind
            && !(200..=599).contains(&code)
        {
            bail!("`code` must be an HTTP status between 200 and 599 (got {code})");
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        path_matches(&self.path, path)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .collect()
}

/// `*` matches one segment; a final `**` matches the rest (zero or more segments).
fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = segments(pattern);
    let path = segments(path);
    for (index, expected) in pattern.iter().enumerate() {
        if *expected == "**" && index + 1 == pattern.len() {
            return true;
        }
        match path.get(index) {
            Some(actual) if *expected == "*" || expected.eq_ignore_ascii_case(actual) => {}
            _ => return false,
        }
    }
    pattern.len() == path.len()
}

/// The scenario-file form of a [`Fault`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default = "any_path")]
    path: String,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
    #[serde(default = "always")]
    rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

fn any_path() -> String {
    "/**".to_owned()
}

fn always() -> f64 {
    1.0
}

impl TryFrom<FaultDocument> for Fault {
    type Error = String;

    fn try_from(document: FaultDocument) -> Result<Self, Self::Error> {
        let needs_ms = |kind: &str| {
            document
                .ms
                .ok_or_else(|| format!("fault kind `{kind}` needs `ms`"))
        };
        let kind = match document.kind.as_str() {
            "latency" => FaultKind::Latency {
                ms: needs_ms("latency")?,
            },
            "stall" => FaultKind::Stall {
                ms: needs_ms("stall")?,
            },
            "status" => FaultKind::Status {
                code: document
                    .code
                    .ok_or_else(|| "fault kind `status` needs `code`".to_owned())?,
                retry_after_seconds: document.retry_after_seconds,
            },
            "drop" => FaultKind::Drop,
            "commitThen500" => FaultKind::CommitThen500,
            "commitThenDrop" => FaultKind::CommitThenDrop,
            other => {
                return Err(format!(
                    "unknown fault kind `{other}`, expected one of latency, stall, status, drop, commitThen500, commitThenDrop"
                ));
            }
        };
        let fault = Fault {
            method: document.method.map(|m| m.to_ascii_uppercase()),
            path: document.path,
            rate: document.rate,
            limit: document.limit,
            kind,
        };
        fault.validate().map_err(|e| e.to_string())?;
        Ok(fault)
    }
}

impl From<Fault> for FaultDocument {
    fn from(fault: Fault) -> Self {
        let (ms, code, retry_after_seconds) = match fault.kind {
            FaultKind::Latency { ms } | FaultKind::Stall { ms } => (Some(ms), None, None),
            FaultKind::Status {
                code,
                retry_after_seconds,
            } => (None, Some(code), retry_after_seconds),
            FaultKind::Drop | FaultKind::CommitThen500 | FaultKind::CommitThenDrop => {
                (None, None, None)
            }
        };
        FaultDocument {
            method: fault.method,
            path: fault.path,
            kind: fault.kind.name().to_owned(),
            ms,
            code,
            retry_after_seconds,
            rate: fault.rate,
            limit: fault.limit,
        }
    }
}

/// What the armed faults decided for one request.
#[derive(Debug, Default)]
pub(crate) struct FaultDecision {
    /// Total latency of the latency faults that fired.
    pub(crate) latency: Duration,
    /// The first non-latency fault that fired.
    pub(crate) terminal: Option<FaultKind>,
    /// Names of every fault that fired, in order.
    pub(crate) names: Vec<&'static str>,
}

#[derive(Debug)]
struct ArmedFault {
    fault: Fault,
    fired: u32,
}

/// The armed faults and the seeded generator deciding whether they fire.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    rng: StdRng,
    armed: Vec<ArmedFault>,
}

impl FaultEngine {
    pub(crate) fn new(seed: u64, faults: &[Fault]) -> Self {
        let mut engine = FaultEngine {
            rng: StdRng::seed_from_u64(seed),
            armed: Vec::new(),
        };
        for fault in faults {
            engine.add(fault.clone());
        }
        engine
    }

    pub(crate) fn add(&mut self, fault: Fault) {
        self.armed.push(ArmedFault { fault, fired: 0 });
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Evaluates the armed faults in order. Each matching fault that still has budget draws
    /// from the generator (unless its rate is 0 or 1); latency faults accumulate, the first
    /// other fault that fires ends the evaluation.
    pub(crate) fn decide(&mut self, method: &str, path: &str) -> FaultDecision {
        let mut decision = FaultDecision::default();
        for armed in &mut self.armed {
            if !armed.fault.matches(method, path)
                || armed.fault.limit.is_some_and(|limit| armed.fired >= limit)
            {
                continue;
            }
            let rate = armed.fault.rate;
            let fires = if rate >= 1.0 {
                true
            } else if rate <= 0.0 {
                false
            } else {
                self.rng.random::<f64>() < rate
            };
            if !fires {
                continue;
            }
            armed.fired += 1;
            decision.names.push(armed.fault.name());
            match &armed.fault.kind {
                FaultKind::Latency { ms } => {
                    decision.latency += Duration::from_millis(*ms);
                }
                other => {
                    decision.terminal = Some(other.clone());
                    break;
                }
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_one_segment_and_double_star_any_suffix() {
        assert!(path_matches("/api/*/workers", "/api/Spaces-1/workers"));
        assert!(!path_matches("/api/*/workers", "/api/workers"));
        assert!(!path_matches(
            "/api/*/workers",
            "/api/Spaces-1/workers/Workers-1"
        ));
        assert!(path_matches("/api/**", "/api"));
        assert!(path_matches("/api/**", "/api/Spaces-1/workers/Workers-1"));
        assert!(path_matches("/**", "/"));
        assert!(path_matches("/API/Spaces", "/api/spaces/"));
    }

    #[test]
    fn limit_caps_firings() {
        let mut engine = FaultEngine::new(1, &[Fault::drop_connection().limit(2)]);
        let fired = (0..5)
            .filter(|_| engine.decide("GET", "/api").terminal.is_some())
            .count();
        assert_eq!(fired, 2);
    }
}
