//! octoshare-wait library (placeholder)
