//! octoshare-cli (placeholder while the crate is built)
