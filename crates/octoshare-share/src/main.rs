//! octoshare-share binary (placeholder)
fn main() {}
