//! The `mercato` binary: `mercato` serves (the embedded demo by default), `mercato check
//! FILE...` validates configuration, `mercato config-schema` prints its format, `mercato
//! replay --until MOMENT` serves a node's reads as of a past moment.

use std::process::ExitCode;

use clap::Parser;
use mercato_adapters::cli::{Cli, Command};
use mercato_adapters::configs::{check_node, load_file, summary, LoadError};
use mercato_adapters::server;

/// mimalloc: glibc's malloc and free took a quarter of the server's CPU under load
/// (`benches/RESULTS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { files }) => check(&files),
        Some(Command::ConfigSchema { markdown }) => {
            let schema = mercato_engine::commerce::schema::config_schema();
            if markdown {
                print!("{}", mercato_engine::commerce::schema::config_markdown(&schema));
            } else {
                println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Some(Command::Replay { until }) => {
            server::init_tracing();
            match mercato_adapters::replay::run(&cli.serve, &until) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("mercato replay: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Serve) | None => {
            server::init_tracing();
            match server::run(cli.serve) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error}");
                    eprintln!("mercato: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Validates each file on its own, then the node-wide rules across the valid ones.
fn check(files: &[std::path::PathBuf]) -> ExitCode {
    let mut valid = Vec::new();
    let mut failed = false;
    for path in files {
        match load_file(path) {
            Ok(commerce) => {
                println!("{}: ok: {}", path.display(), summary(&commerce));
                valid.push(commerce);
            }
            Err(LoadError::Config { source_name, error: mercato_engine::ConfigError::Invalid { violations } }) => {
                failed = true;
                println!("{source_name}: {} violation(s)", violations.len());
                for violation in violations {
                    println!("  {violation}");
                }
            }
            Err(error) => {
                failed = true;
                println!("{error}");
            }
        }
    }
    if !failed {
        if let Err(error) = check_node(valid.iter()) {
            failed = true;
            println!("node: {error}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
