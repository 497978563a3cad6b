//! octoshare-discover library (placeholder)
