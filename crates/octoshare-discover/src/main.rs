//! octoshare-discover binary (placeholder)
fn main() {}
