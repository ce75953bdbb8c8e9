//! The `ferrobeam` command.

use clap::{Parser, Subcommand};
use ferrobeam::config::DevicesFile;
use ferrobeam::{http, Node};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "ferrobeam",
    version,
    about = "An AO-Core node with plugin devices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the node.
    Serve {
        /// The devices file.
        #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
        config: PathBuf,
        /// Port to listen on (0: any free port). Overrides `[node] port`.
        #[arg(long, env = "FERROBEAM_PORT")]
        port: Option<u16>,
        /// Address to bind. Overrides `[node] bind`.
        #[arg(long)]
        bind: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROBEAM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { config, port, bind } => serve(config, port, bind),
    }
}

fn serve(config: PathBuf, port: Option<u16>, bind: Option<String>) -> ExitCode {
    let mut file = if config.exists() {
        match DevicesFile::load(&config) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ferrobeam: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        tracing::warn!(
            "{} not found: serving the plugins folder with defaults",
            config.display()
        );
        DevicesFile::default_at(&config)
    };
    if let Some(port) = port {
        file.node.port = port;
    }
    if let Some(bind) = bind {
        file.node.bind = bind;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrobeam: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (bind, port) = (file.node.bind.clone(), file.node.port);
        let (listener, addr) = match http::bind(&bind, port).await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("ferrobeam: cannot listen on {bind}:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        // Devices see the port actually bound (it differs when 0 was asked for).
        file.node.port = addr.port();
        let (node, _errors) = Node::start(file);
        // Tests and scripts read this line to find the port.
        println!("ferrobeam listening on http://{addr}");
        tracing::info!("listening on http://{addr}");
        http::serve(http::Edge::new(node), listener, shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
