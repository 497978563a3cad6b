//! Integration tests for octoshare-core: against the Octopus emulator where a real API is
//! needed, and against a tiny canned HTTP server for malformed responses, redirects and headers.

mod auth;
mod cancellation;
mod concurrency;
mod errors;
mod fixtures;
mod limits;
mod origin;
mod paging;
mod redaction;
mod resources;
mod retries;
mod root;
mod service_messages;
mod support;
mod tls;
