//! Authentication for postcore (placeholder; see the final version).
pub mod scheme;
pub mod secret;
pub mod username;
