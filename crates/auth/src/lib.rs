//! Authentication for postcore (placeholder; see the final version).
pub mod passwd_file;
pub mod scheme;
pub mod secret;
pub mod username;
