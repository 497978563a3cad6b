//! octoshare-wait binary (placeholder)
fn main() {}
