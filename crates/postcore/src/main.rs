//! The `postcore` command: `serve` runs the server, `user` manages the
//! passwd-file user database, `check`/`compact`/`stats` look after users'
//! stores offline, `import`/`export` move mail in from and out to Maildir
//! and mbox (and `import` pulls from another IMAP server). Every subcommand without `--config` acts on the
//! embedded default (data in `./postcore-data`), so `postcore user add` and
//! `postcore serve` run in the same directory agree with no other step.

mod export;
mod import;
mod import_imap;
mod maint;
mod offline;
mod target;
mod user;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::config::Config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "postcore",
    version,
    about = "A mail-access server: IMAP, POP3 and LMTP over its own log-structured store"
)]
struct Cli {
    /// Configuration file (TOML). Without it, the embedded default is used.
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server until SIGTERM or SIGINT.
    Serve,
    /// Manage users in the passwd-file.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Verify every log record's crc and the index against the log, for the
    /// users named (default: every user with a store). Exit status 1 when a
    /// problem is found (or left).
    Check {
        /// Quarantine damaged records (copied to <user dir>/quarantine, then
        /// overwritten by padding) and rebuild the index from the log.
        #[arg(long)]
        repair: bool,
        users: Vec<String>,
    },
    /// Rewrite log segments without their expunged messages now.
    Compact { users: Vec<String> },
    /// Mailboxes, messages, bytes and dead (reclaimable) bytes per user;
    /// per mailbox too when users are named.
    Stats { users: Vec<String> },
    /// Import mail from a Maildir++ tree (Dovecot's uidlist, keywords and
    /// subscriptions), an mbox file or a live IMAP server (--from imap
    /// --host ...), keeping UIDVALIDITY, UIDs, UIDNEXT,
    /// flags, keywords and internal dates. Offline: a user being served is
    /// reported busy. Re-running an interrupted import resumes it. Exit
    /// status 1 when any message or folder failed.
    Import(Box<import::ImportArgs>),
    /// Export a user's mailboxes into a Maildir++ tree or mbox files,
    /// keeping UIDVALIDITY, UIDs, UIDNEXT, flags, keywords and internal
    /// dates. Offline, like import.
    Export(export::ExportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("postcore: {}", chain_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text
/// its parent already ends with (library errors that show their source in
/// their own message, as most thiserror variants here do).
fn chain_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.command {
        Command::Serve => {
            init_logging(&cfg.log);
            server::runtime::run(cfg, cli.config).context("server")
        }
        Command::User(cmd) => user::run(&cfg, cmd),
        Command::Check { repair, users } => maint::check(&cfg, &users, repair),
        Command::Compact { users } => maint::compact(&cfg, &users),
        Command::Stats { users } => maint::stats(&cfg, &users),
        Command::Import(args) => import::run(&cfg, *args),
        Command::Export(args) => export::run(&cfg, args),
    }
}

fn init_logging(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
