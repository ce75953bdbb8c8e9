//! The `ferrobeam` command.

use clap::{Parser, Subcommand};
use ferrobeam::config::DevicesFile;
use ferrobeam::wallet::{self, Origin, Wallet};
use ferrobeam::{author, http, reload, Node};
use std::path::{Path, PathBuf};
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
        /// Do not watch the plugins folder and devices.toml (reload with SIGHUP or
        /// `ferrobeam reload` only).
        #[arg(long)]
        no_watch: bool,
        /// Folder of the node's store (created on first start). Overrides `[node] data_dir`.
        #[arg(long, env = "FERROBEAM_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Where the store is: `embedded` (the redb file in the data folder) or a
        /// `postgres://user@host:port/db` URL. Overrides `[node] store`.
        #[arg(long, env = "FERROBEAM_STORE")]
        store: Option<String>,
        /// The node wallet (an Arweave JWK). Overrides `[node] wallet`; default
        /// `ferrobeam-wallet.json` next to the devices file. Created (mode 0600) if missing.
        #[arg(long, env = "FERROBEAM_WALLET")]
        wallet: Option<PathBuf>,
    },
    /// Make or inspect the node wallet.
    Wallet {
        #[command(subcommand)]
        action: WalletAction,
    },
    /// Make the running node reload its devices now (sends it SIGHUP).
    Reload {
        /// The devices file the node was started with.
        #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
        config: PathBuf,
    },
    /// Write a new device crate from the template.
    NewDevice {
        /// The device name (the crate name; the device is NAME@1.0).
        name: String,
        /// Where to write it (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
        /// The device-api crate to depend on (default: the one this binary was built from).
        #[arg(long)]
        device_api: Option<PathBuf>,
    },
    /// Store FILE on the running node as a message signed by the node wallet; print its ID.
    Upload {
        /// The file.
        file: PathBuf,
        /// Its content type (default: from the extension, e.g. .lua → application/lua).
        #[arg(long)]
        content_type: Option<String>,
        /// The node (default: http://<bind>:<port> of the devices file).
        #[arg(long)]
        node: Option<String>,
        /// The wallet (default: the node's, as for `serve`).
        #[arg(long, env = "FERROBEAM_WALLET")]
        wallet: Option<PathBuf>,
        /// The devices file.
        #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
        config: PathBuf,
    },
    /// Build a device crate in release and install its library into the plugins folder.
    BuildDevice {
        /// The device crate.
        path: PathBuf,
        /// The devices file naming the plugins folder.
        #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum WalletAction {
    /// Generate a new RSA-4096 wallet (mode 0600) and print its address. Never replaces a file.
    New(WalletArgs),
    /// Print the address of the wallet.
    Address(WalletArgs),
}

#[derive(clap::Args, Debug)]
struct WalletArgs {
    /// The wallet file. Default: `[node] wallet` of the devices file, else
    /// `ferrobeam-wallet.json` next to it.
    #[arg(long, env = "FERROBEAM_WALLET")]
    wallet: Option<PathBuf>,
    /// The devices file.
    #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
    config: PathBuf,
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
        Command::Serve {
            config,
            port,
            bind,
            no_watch,
            data_dir,
            store,
            wallet,
        } => serve(config, port, bind, data_dir, store, wallet, !no_watch),
        Command::Wallet { action } => wallet_command(action),
        Command::Reload { config } => reload(&config),
        Command::NewDevice {
            name,
            path,
            device_api,
        } => {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            let api = device_api.unwrap_or_else(author::default_device_api);
            report(author::new_device(&name, &dir, &api).map(|dir| {
                format!(
                    "wrote {name}@1.0 to {}; build and install it with: ferrobeam build-device {}",
                    dir.display(),
                    dir.display()
                )
            }))
        }
        Command::Upload {
            file,
            content_type,
            node,
            wallet,
            config,
        } => upload(
            &file,
            content_type.as_deref(),
            node,
            wallet.as_deref(),
            &config,
        ),
        Command::BuildDevice { path, config } => {
            let file = match load_config(&config) {
                Ok(f) => f,
                Err(code) => return code,
            };
            report(
                author::build_device(&path, &file.node.plugins_dir)
                    .map(|lib| format!("installed {}", lib.display())),
            )
        }
    }
}

fn report<E: std::fmt::Display>(result: Result<String, E>) -> ExitCode {
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrobeam: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(config: &Path) -> Result<DevicesFile, ExitCode> {
    if config.exists() {
        DevicesFile::load(config).map_err(|e| {
            eprintln!("ferrobeam: {e}");
            ExitCode::FAILURE
        })
    } else {
        tracing::warn!("{} not found: using defaults", config.display());
        Ok(DevicesFile::default_at(config))
    }
}

/// The wallet `serve` signs with: loaded, or created on first start (mode 0600). Logs where it
/// came from and its address — never anything else about it.
fn node_wallet(config: &Path, flag: Option<&Path>, file: &DevicesFile) -> Result<Wallet, ExitCode> {
    let path = wallet::resolve_path(flag, file.node.wallet.as_deref(), config);
    match Wallet::load_or_create(&path) {
        Ok((w, Origin::Created)) => {
            tracing::info!(
                address = w.address(),
                "created a new node wallet at {} (mode 0600); back it up",
                path.display()
            );
            Ok(w)
        }
        Ok((w, Origin::Loaded)) => {
            tracing::info!(address = w.address(), "node wallet {}", path.display());
            Ok(w)
        }
        Err(e) => {
            eprintln!("ferrobeam: node wallet: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// `ferrobeam wallet new|address`.
fn wallet_command(action: WalletAction) -> ExitCode {
    let (args, create) = match action {
        WalletAction::New(args) => (args, true),
        WalletAction::Address(args) => (args, false),
    };
    let configured = if args.config.exists() {
        match DevicesFile::load(&args.config) {
            Ok(f) => f.node.wallet,
            Err(e) => {
                eprintln!("ferrobeam: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let path = wallet::resolve_path(args.wallet.as_deref(), configured.as_deref(), &args.config);
    let result = if create {
        Wallet::create(&path)
    } else {
        Wallet::load(&path)
    };
    report(result.map(|w| {
        if create {
            eprintln!("ferrobeam: wrote {} (mode 0600)", path.display());
        }
        w.address().to_owned()
    }))
}

/// `ferrobeam upload`: signs FILE with the node wallet, stores it on the node, prints its ID.
fn upload(
    file: &Path,
    content_type: Option<&str>,
    node: Option<String>,
    wallet: Option<&Path>,
    config: &Path,
) -> ExitCode {
    let file_config = match load_config(config) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let path = wallet::resolve_path(wallet, file_config.node.wallet.as_deref(), config);
    let wallet = match Wallet::load(&path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ferrobeam: node wallet: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = node
        .unwrap_or_else(|| format!("http://{}:{}", file_config.node.bind, file_config.node.port));
    report(ferrobeam::upload::upload(file, content_type, &url, &wallet))
}

/// Where a node started with `config` writes its process ID.
fn pid_file(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".ferrobeam.pid")
}

fn reload(config: &Path) -> ExitCode {
    let path = pid_file(config);
    let pid = match std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        Some(pid) if pid > 0 => pid,
        _ => {
            eprintln!(
                "ferrobeam: no running node for {} ({} is missing)",
                config.display(),
                path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    // SAFETY: kill(2) with a positive pid and a valid signal has no memory-safety preconditions.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        eprintln!(
            "ferrobeam: cannot signal node {pid}: {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::FAILURE;
    }
    println!("asked node {pid} to reload");
    ExitCode::SUCCESS
}

fn serve(
    config: PathBuf,
    port: Option<u16>,
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    wallet: Option<PathBuf>,
    watch: bool,
) -> ExitCode {
    let mut file = match load_config(&config) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let wallet = match node_wallet(&config, wallet.as_deref(), &file) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if let Some(dir) = data_dir {
        file.node.data_dir = dir;
    }
    if let Some(store) = store {
        if let Err(why) = ferrobeam::store::StoreLocation::parse(Some(&store)) {
            eprintln!("ferrobeam: --store: {why}");
            return ExitCode::FAILURE;
        }
        file.node.store = Some(store);
    }
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
        let (node, _errors) = match Node::start_with_wallet(file, Some(wallet)) {
            Ok(started) => started,
            Err(e) => {
                eprintln!("ferrobeam: cannot open the store: {e}");
                return ExitCode::FAILURE;
            }
        };
        let _watcher = if watch {
            match reload::watch(&node) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::error!("cannot watch the plugins folder ({e}); reload with SIGHUP");
                    None
                }
            }
        } else {
            None
        };
        let pid_path = pid_file(&config);
        if let Err(e) = std::fs::write(&pid_path, std::process::id().to_string()) {
            tracing::warn!(
                "cannot write {}: {e}; `ferrobeam reload` will not find this node",
                pid_path.display()
            );
        }
        tokio::spawn(reload_on_hangup(node.clone()));
        // Tests and scripts read this line to find the port.
        println!("ferrobeam listening on http://{addr}");
        tracing::info!("listening on http://{addr}");
        http::serve(http::Edge::new(node), listener, shutdown_signal()).await;
        let _ = std::fs::remove_file(&pid_path);
        ExitCode::SUCCESS
    })
}

/// SIGHUP: reload now.
async fn reload_on_hangup(node: std::sync::Arc<Node>) {
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP");
        return;
    };
    while hangup.recv().await.is_some() {
        let node = node.clone();
        let outcome = tokio::task::spawn_blocking(move || node.reload()).await;
        match outcome {
            Ok(Ok(errors)) if errors.is_empty() => tracing::info!("reloaded on SIGHUP"),
            Ok(Ok(errors)) => tracing::warn!(
                failures = errors.len(),
                "reloaded on SIGHUP; failed libraries keep their previous generation"
            ),
            Ok(Err(e)) => tracing::error!("devices.toml not applied, nothing changed: {e}"),
            Err(e) => tracing::error!("reload failed: {e}"),
        }
    }
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
