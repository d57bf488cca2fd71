//! Limits on everything a client controls. The server fills these from its
//! configuration; the defaults are safe for a public-facing server.

/// Bounds the parser enforces. Breaking one yields a [`crate::ParseError`]
/// instead of unbounded memory or CPU use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, in bytes, between literals (CRLF included).
    pub max_line: usize,
    /// Largest literal accepted as APPEND/REPLACE message data (APPENDLIMIT).
    pub max_literal: u64,
    /// Largest literal accepted anywhere else (mailbox names, passwords,
    /// search strings): these are never message-sized, so a far lower bound
    /// stops a client from making the server buffer megabytes for a LOGIN.
    pub max_string_literal: u64,
    /// Whole command including all its literals (MULTIAPPEND can carry many).
    pub max_command: u64,
    /// Nesting of parentheses, OR and NOT in SEARCH and of lists elsewhere.
    pub max_depth: usize,
    /// Ranges (comma-separated elements) in one sequence set.
    pub max_sequence_ranges: usize,
    /// Elements of any list (fetch items, flags, search keys, status items,
    /// APPEND messages, ...) and literals per command.
    pub max_arguments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            max_string_literal: 64 * 1024,
            max_command: 64 * 1024 * 1024 + 64 * 1024,
            max_depth: 32,
            max_sequence_ranges: 1000,
            max_arguments: 1000,
        }
    }
}
