//! Property-based fuzzing (proptest), brief by default and longer on demand with
//! `PROPTEST_CASES=N`:
//!
//! - the emitter and the service-message parser together (core's own proptests cover the
//!   message format alone): whatever text the binaries print, the output holds exactly the
//!   service messages octoshare meant to emit — no more (no injection), no fewer; the parser
//!   never panics on arbitrary bytes or on mutated messages;
//! - JSON model decoding: arbitrary bytes, and every recorded fixture with flipped, deleted and
//!   inserted bytes or with a value replaced by another JSON type, decode as every model without
//!   a panic; a failure names a JSON path on the mutated value's branch (at it, above it, or
//!   inside the replacement), also through the real client (`Decode` errors, one line);
//! - `ServerUrl::parse` never panics, and valid base URLs normalise idempotently.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use octoshare_cli::{Emitter, OutputMode};
use octoshare_core::service_message::{parse_service_message, parse_service_messages};
use octoshare_core::{
    ActionTemplate, ApiError, Credentials, MachinePolicy, Page, RootDocument, ServerUrl,
    ServiceMessage, Space, Worker, WorkerPool,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::support::canned::{CannedServer, Reply, root_document};
use crate::support::{Captured, env_count, runtime};

/// `PROPTEST_CASES`, or `default`; no regression files are written into the source tree.
fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: u32::try_from(env_count("PROPTEST_CASES", u64::from(default))).unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Emitter and service messages

/// Text that a server could put in a name: anything, weighted towards message syntax.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(##octopus|###octopus|\\[|\\]|'|\"|setVariable|createArtifact|name=|value=|[A-Za-z0-9+/=]{0,8}| |\n|\r|#|é|✓){0,24}",
        // A well-formed message inside a name: what an attacker would use.
        (any::<String>(), any::<String>(), "[ #a-z\n]{0,3}").prop_map(|(name, value, glue)| {
            format!(
                "worker{glue}{}{glue}{}",
                ServiceMessage::set_variable(&name, &value).to_line(),
                ServiceMessage::create_artifact("/etc/passwd", &name, 1).to_line()
            )
        }),
    ]
}

/// One thing a binary asks the emitter to do.
#[derive(Debug, Clone)]
enum Op {
    Info(String),
    Highlight(String),
    Verbose(String),
    Warning(String),
    Output(String, String),
    Progress(u64, u64, String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        hostile_text().prop_map(Op::Info),
        hostile_text().prop_map(Op::Highlight),
        hostile_text().prop_map(Op::Verbose),
        hostile_text().prop_map(Op::Warning),
        (hostile_text(), hostile_text()).prop_map(|(name, value)| Op::Output(name, value)),
        (0..10u64, 0..10u64, hostile_text())
            .prop_map(|(current, total, message)| Op::Progress(current, total, message)),
    ]
}

/// Runs `ops` through an emitter in `mode`; returns (stdout, stderr).
fn emit(mode: OutputMode, ops: &[Op]) -> (String, String) {
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let mut emitter =
        Emitter::with_writers(mode, Box::new(stdout.clone()), Box::new(stderr.clone()));
    emitter.set_verbose(true);
    // The document a binary would write: every output, the last value of a name winning.
    let mut document = serde_json::Map::new();
    for op in ops {
        match op {
            Op::Info(text) => emitter.info(text),
            Op::Highlight(text) => emitter.highlight(text),
            Op::Verbose(text) => emitter.verbose(text),
            Op::Warning(text) => emitter.warning(text),
            Op::Output(name, value) => {
                emitter.set_outputs(&BTreeMap::from([(name, value)]));
                document.insert(name.clone(), Value::String(value.clone()));
            }
            Op::Progress(current, total, message) => emitter.progress(*current, *total, message),
        }
    }
    emitter
        .write_document(&document)
        .expect("writing to memory cannot fail");
    emitter.finish().expect("writing to memory cannot fail");
    (stdout.text(), stderr.text())
}

/// Flips, deletes or inserts bytes at positions drawn from `edits`.
fn mutate_bytes(original: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for &(kind, at, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let at = at % bytes.len();
        match kind % 3 {
            0 => bytes[at] ^= 1 << (byte % 8),
            1 => {
                let end = (at + 1 + usize::from(byte % 4)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => bytes.insert(at, byte),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn fuzz_octopus_output_holds_exactly_the_messages_octoshare_emits(ops in proptest::collection::vec(op(), 0..12)) {
        let (stdout, stderr) = emit(OutputMode::Octopus, &ops);
        let messages = parse_service_messages(&stdout);
        let outputs: Vec<(String, String)> = messages
            .iter()
            .filter(|message| message.name == "setVariable")
            .map(|message| (message.get("name").unwrap_or_default().to_owned(), message.get("value").unwrap_or_default().to_owned()))
            .collect();
        let expected: Vec<(String, String)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Output(name, value) => Some((name.clone(), value.clone())),
                _ => None,
            })
            .collect();
        prop_assert_eq!(outputs, expected);
        for message in &messages {
            prop_assert!(
                matches!(message.name.as_str(), "setVariable" | "progress" | "stdout-warning" | "stdout-verbose" | "stdout-highlight" | "stdout-default"),
                "unexpected message {:?} in\n{}", message, stdout
            );
            if message.name == "progress" {
                let percentage: u8 = message.get("percentage").unwrap_or_default().parse().unwrap_or(255);
                prop_assert!(percentage <= 100);
            }
        }
        prop_assert!(parse_service_messages(&stderr).is_empty(), "{}", stderr);
    }

    #[test]
    fn fuzz_text_and_json_output_hold_no_service_message(ops in proptest::collection::vec(op(), 0..12)) {
        let (stdout, stderr) = emit(OutputMode::Text, &ops);
        prop_assert!(parse_service_messages(&stdout).is_empty(), "{}", stdout);
        prop_assert!(parse_service_messages(&stderr).is_empty(), "{}", stderr);
        let (stdout, stderr) = emit(OutputMode::Json, &ops);
        prop_assert!(parse_service_messages(&stdout).is_empty(), "{}", stdout);
        prop_assert!(parse_service_messages(&stderr).is_empty(), "{}", stderr);
        // The document still holds the exact values (the last one of each name wins).
        let document: Value = serde_json::from_str(&stdout).expect("one JSON document");
        let mut expected = BTreeMap::new();
        for op in &ops {
            if let Op::Output(name, value) = op {
                expected.insert(name.clone(), value.clone());
            }
        }
        for (name, value) in expected {
            prop_assert_eq!(&document[name.as_str()], &Value::String(value));
        }
    }

    #[test]
    fn fuzz_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_service_messages(&text);
        let _ = parse_service_message(&text);
    }

    #[test]
    fn fuzz_parser_never_panics_on_mutated_messages(
        name in hostile_text(),
        value in hostile_text(),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let line = ServiceMessage::set_sensitive_variable(&name, &value).to_line();
        let mutated = mutate_bytes(line.as_bytes(), &edits);
        let text = String::from_utf8_lossy(&mutated);
        let _ = parse_service_message(&text);
        for message in parse_service_messages(&format!("noise {text}\n{text}]")) {
            prop_assert!(!message.name.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON models

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/octoshare-core/tests/fixtures/octopus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("fixtures expected at {}: {error}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&path).expect("a readable fixture"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the recorded fixtures in {}",
        dir.display()
    );
    files
}

/// A path segment as `serde_path_to_error` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Decodes `bytes` as `T` the way the client does; a failure gives the path `serde_path_to_error`
/// names (`None` segments when it could not tell).
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), Option<Vec<Segment>>> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        // As the client: data after the document is refused, at the root.
        Ok(_) => deserializer.end().map_err(|_| Some(Vec::new())),
        Err(error) => {
            let mut segments = Vec::new();
            for segment in error.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => {
                        segments.push(Segment::Index(*index))
                    }
                    serde_path_to_error::Segment::Map { key } => {
                        segments.push(Segment::Key(key.clone()))
                    }
                    _ => return Err(None),
                }
            }
            Err(Some(segments))
        }
    }
}

/// How many models [`decode_as_every_model`] tries.
const MODELS: usize = 11;

/// Decodes as every model; never panics. Returns how many models refused the bytes.
fn decode_as_every_model(bytes: &[u8]) -> usize {
    let refusals: [bool; MODELS] = [
        decode::<Space>(bytes).is_err(),
        decode::<Vec<Space>>(bytes).is_err(),
        decode::<WorkerPool>(bytes).is_err(),
        decode::<Vec<WorkerPool>>(bytes).is_err(),
        decode::<Worker>(bytes).is_err(),
        decode::<Vec<Worker>>(bytes).is_err(),
        decode::<Page<Worker>>(bytes).is_err(),
        decode::<Page<Value>>(bytes).is_err(),
        decode::<MachinePolicy>(bytes).is_err(),
        decode::<ActionTemplate>(bytes).is_err(),
        decode::<RootDocument>(bytes).is_err(),
    ];
    refusals.into_iter().filter(|refused| *refused).count()
}

/// The model a fixture is an instance of.
fn decode_as_fixture_model(name: &str, bytes: &[u8]) -> Result<(), Option<Vec<Segment>>> {
    if name.starts_with("root-") {
        decode::<RootDocument>(bytes)
    } else if name.starts_with("space-") {
        decode::<Space>(bytes)
    } else if name.starts_with("worker-") || name.starts_with("machine-") {
        decode::<Worker>(bytes)
    } else if name.contains("-collection-") {
        decode::<Page<Value>>(bytes)
    } else if name.starts_with("actiontemplate-") {
        decode::<ActionTemplate>(bytes)
    } else {
        decode::<Value>(bytes)
    }
}

/// Replaces (or removes) the value reached by following `choices` with a value of another JSON
/// type; returns the path of the replaced value.
fn replace_value(document: &mut Value, choices: &[usize], replacement: u8) -> Vec<Segment> {
    let mut path = Vec::new();
    let mut current = &*document;
    for &choice in choices {
        let next = match current {
            Value::Object(map) if !map.is_empty() => {
                map.iter().nth(choice % map.len()).map(|(key, value)| {
                    path.push(Segment::Key(key.clone()));
                    value
                })
            }
            Value::Array(items) if !items.is_empty() => {
                let index = choice % items.len();
                path.push(Segment::Index(index));
                items.get(index)
            }
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => break,
        }
    }
    let pointer: String = path
        .iter()
        .map(|segment| match segment {
            Segment::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(index) => format!("/{index}"),
        })
        .collect();
    let Some(current) = document.pointer_mut(&pointer) else {
        return path;
    };
    *current = match replacement % 8 {
        0 => Value::Null,
        1 => Value::Bool(true),
        2 => Value::from(-7),
        3 => Value::from(1.5e300),
        4 => Value::String("\u{0}é\"\\".to_owned()),
        5 => Value::Array(vec![Value::Null, Value::from(1)]),
        6 => serde_json::json!({"Unexpected": [{"deep": [[[]]]}]}),
        _ => Value::String(String::new()),
    };
    path
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn fuzz_models_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let refused = decode_as_every_model(&bytes);
        // Bytes that are not JSON are refused by every model; none accepts garbage.
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            prop_assert_eq!(refused, MODELS);
        }
    }

    #[test]
    fn fuzz_models_refuse_a_fixture_with_data_after_it(
        index in any::<usize>(),
        suffix in "[ \n]*[^ \n\t\r]{1,8}",
    ) {
        let fixtures = fixtures();
        let (name, original) = &fixtures[index % fixtures.len()];
        let mut bytes = original.clone();
        bytes.extend_from_slice(suffix.as_bytes());
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            prop_assert_eq!(decode_as_every_model(&bytes), MODELS, "{} + {:?}", name, suffix);
        }
    }

    #[test]
    fn fuzz_models_never_panic_on_byte_mutated_fixtures(
        index in any::<usize>(),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..5),
    ) {
        let fixtures = fixtures();
        let (name, original) = &fixtures[index % fixtures.len()];
        let bytes = mutate_bytes(original, &edits);
        let refused = decode_as_every_model(&bytes);
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            prop_assert_eq!(refused, MODELS, "{} mutated by {:?}", name, edits);
        }
    }

    #[test]
    fn fuzz_decode_errors_name_a_path_on_the_replaced_values_branch(
        index in any::<usize>(),
        choices in proptest::collection::vec(any::<usize>(), 0..6),
        replacement in any::<u8>(),
    ) {
        let fixtures = fixtures();
        let (name, original) = &fixtures[index % fixtures.len()];
        let mut document: Value = serde_json::from_slice(original).expect("fixtures are JSON");
        let replaced = replace_value(&mut document, &choices, replacement);
        let bytes = serde_json::to_vec(&document).expect("a JSON value serialises");
        let _ = decode_as_every_model(&bytes);
        if let Err(Some(path)) = decode_as_fixture_model(name, &bytes) {
            // At the replaced value, above it (a struct missing a field), or inside the
            // replacement itself: always on the replaced value's branch.
            let common = path.len().min(replaced.len());
            prop_assert!(
                replaced[..common] == path[..common],
                "{name}: error at {path:?}, but the value at {replaced:?} was replaced"
            );
        }
    }
}

/// A canned Octopus whose `/api` is right and whose other answers are set per case.
struct ScriptedServer {
    body: Arc<Mutex<Vec<u8>>>,
    server: CannedServer,
}

impl ScriptedServer {
    fn start() -> ScriptedServer {
        let body = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::clone(&body);
        let server = CannedServer::start(move |request, _| {
            if request.target == "/api" {
                Reply::json(200, &root_document("3.0.0"))
            } else {
                let body = answer.lock().expect("body").clone();
                Reply::new(200, "application/json", body)
            }
        });
        ScriptedServer { body, server }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Through the real client: any mutated worker list is either read or refused with a
    /// one-line `Decode` error naming where it broke (never a panic, never another kind).
    #[test]
    fn fuzz_client_decode_errors_are_one_line_and_name_a_path(
        index in any::<usize>(),
        choices in proptest::collection::vec(any::<usize>(), 0..5),
        replacement in any::<u8>(),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..3),
    ) {
        let fixtures = fixtures();
        let workers: Vec<&Vec<u8>> = fixtures
            .iter()
            .filter(|(name, _)| name.starts_with("worker-") || name.starts_with("machine-"))
            .map(|(_, bytes)| bytes)
            .collect();
        let worker: Value = serde_json::from_slice(workers[index % workers.len()]).expect("JSON");
        let mut list = Value::Array(vec![worker.clone(), worker]);
        replace_value(&mut list, &choices, replacement);
        let bytes = mutate_bytes(&serde_json::to_vec(&list).expect("JSON"), &edits);
        let scripted = ScriptedServer::start();
        *scripted.body.lock().expect("body") = bytes;
        let client = octoshare_core::Client::builder(
            ServerUrl::parse(&scripted.server.url()).expect("URL"),
            Credentials::api_key("API-FUZZ0000000000000000"),
        )
        .retry_policy(octoshare_core::RetryPolicy::none())
        .build()
        .expect("client");
        let result = runtime().block_on(client.workers(&"Spaces-1".into()).all());
        match result {
            Ok(_) => {}
            Err(error @ ApiError::Decode { .. }) => {
                let text = error.to_string();
                prop_assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
                prop_assert!(text.contains("cannot be read at '"), "{text}");
            }
            Err(other) => prop_assert!(false, "not a decode error: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ServerUrl

/// A valid base URL made of parts: scheme, host, port, virtual directory, trailing bits.
fn base_url() -> impl Strategy<Value = (String, bool)> {
    (
        prop_oneof![Just("https"), Just("http"), Just("HTTPS"), Just("Http")],
        prop_oneof![
            // (Not starting with `x`: `xn--...` would be an invalid punycode label.)
            "[a-w][a-z0-9]{0,5}(-[a-z0-9]{1,4})?(\\.[a-z]{2,5}){0,2}",
            Just("127.0.0.1".to_owned()),
            Just("[::1]".to_owned()),
            Just("Octopus.Example.COM".to_owned()),
        ],
        proptest::option::of(1..65535u16),
        proptest::collection::vec(
            "[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,7}|%20|%C3%BC|api|API",
            0..4,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(scheme, host, port, segments, slash, padded)| {
            let mut url = format!("{scheme}://{host}");
            if let Some(port) = port {
                url.push_str(&format!(":{port}"));
            }
            for segment in &segments {
                url.push('/');
                url.push_str(segment);
            }
            if slash {
                url.push('/');
            }
            if padded {
                url = format!("  {url}\t");
            }
            // A virtual directory whose last segment is itself `api` cannot be told apart from
            // the server's own `/api` once normalised (see RELIABILITY.md).
            let ambiguous = segments.len() >= 2
                && segments[segments.len() - 2..]
                    .iter()
                    .all(|segment| segment.eq_ignore_ascii_case("api"));
            (url, ambiguous)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_server_url_parse_never_panics(text in any::<String>()) {
        if let Ok(server) = ServerUrl::parse(&text) {
            prop_assert!(!server.as_str().ends_with('/'));
        }
    }

    #[test]
    fn fuzz_server_url_parse_never_panics_on_url_like_text(
        text in "(https?|ftp|HTTP|)(://|:/|//|)[a-zA-Z0-9.:@\\[\\]%-]{0,20}(/[a-zA-Z0-9%?#.@ -]{0,8}){0,4}/?",
    ) {
        if let Ok(server) = ServerUrl::parse(&text) {
            prop_assert!(server.as_str().starts_with("http://") || server.as_str().starts_with("https://"), "{}", server.as_str());
            prop_assert!(!server.as_str().ends_with('/'), "{}", server.as_str());
        }
    }

    #[test]
    fn fuzz_valid_server_urls_normalise_idempotently((url, ambiguous) in base_url()) {
        let server = ServerUrl::parse(&url).map_err(|error| TestCaseError::fail(format!("{url}: {error}")))?;
        prop_assert!(server.as_str().starts_with("http://") || server.as_str().starts_with("https://"));
        prop_assert!(!server.as_str().ends_with('/'));
        prop_assert_eq!(server.as_str(), format!("{}{}", server.origin(), server.base_path()));
        prop_assert!(server.base_path().is_empty() || (server.base_path().starts_with('/') && !server.base_path().ends_with('/')));
        // Trailing `/`, `/api` and `/api/` name the same server.
        let trimmed = url.trim().trim_end_matches('/');
        for variant in [format!("{trimmed}/"), format!("{trimmed}/api"), format!("{trimmed}/API/")] {
            if ambiguous {
                break;
            }
            let other = ServerUrl::parse(&variant).map_err(|error| TestCaseError::fail(format!("{variant}: {error}")))?;
            if !trimmed.to_ascii_lowercase().ends_with("/api") {
                prop_assert_eq!(&other, &server, "{} vs {}", variant, url);
            }
        }
        if !ambiguous {
            let again = ServerUrl::parse(server.as_str()).map_err(|error| TestCaseError::fail(format!("{server}: {error}")))?;
            prop_assert_eq!(again, server);
        }
    }
}
