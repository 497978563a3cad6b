//! octoshare orchestrator (placeholder)
fn main() {}
