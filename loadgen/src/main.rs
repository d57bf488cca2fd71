use clap::Parser;
use postcore_loadgen::cli::Args;
use postcore_loadgen::{plot, run, stats};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    let out = match run::run(args.clone()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("postcore-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", out.report.text());
    let mut failed = false;
    if let Some(p) = &args.json {
        let res = serde_json::to_vec_pretty(&out.report)
            .map_err(|e| e.to_string())
            .and_then(|j| std::fs::write(p, j).map_err(|e| e.to_string()));
        if let Err(e) = res {
            eprintln!("{}: {e}", p.display());
            failed = true;
        }
    }
    if let Some(p) = &args.hdr_log {
        let res = std::fs::File::create(p)
            .map_err(|e| e.to_string())
            .and_then(|mut f| stats::write_hdr_log(&out.recorder, &mut f));
        if let Err(e) = res {
            eprintln!("{}: {e}", p.display());
            failed = true;
        }
    }
    if let Some(p) = &args.plot {
        let title = format!(
            "{} {} ({} conns)",
            out.report.mode, out.report.target, out.report.connections
        );
        if let Err(e) = plot::write_svg(&out.recorder, p, &title) {
            eprintln!("{}: {e}", p.display());
            failed = true;
        }
    }
    if out.report.total_errors > 0 || failed {
        eprintln!("postcore-loadgen: {} errors", out.report.total_errors);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
