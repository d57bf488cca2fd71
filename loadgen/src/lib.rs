//! postcore-loadgen: a thread-per-core (glommio) load generator for IMAP,
//! POP3 and LMTP servers — postcore or any other. It drives pipelined,
//! closed-loop, open-loop, storm, IDLE-density, POP3 and LMTP workloads and
//! reports per-command HDR latency histograms (JSON, HDR log, SVG plot).

pub mod cli;
pub mod conn;
pub mod modes;
pub mod msggen;
pub mod plot;
pub mod reader;
pub mod run;
pub mod session;
pub mod stats;
