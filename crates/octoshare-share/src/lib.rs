//! octoshare-share library (placeholder)
