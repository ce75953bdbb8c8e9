//! The `ferrobeam` command.

use clap::{Parser, Subcommand};
use ferrobeam::config::{check, overrides, DevicesFile, Override};
use ferrobeam::logging::{self, LogFormat};
use ferrobeam::wallet::{self, Origin, Wallet};
use ferrobeam::{author, http, reload, Node};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "ferrobeam",
    version,
    about = "An AO-Core node with plugin devices"
)]
struct Cli {
    /// Log format: `human` (coloured on a terminal) or `json` (one object a line).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FERROBEAM_LOG_FORMAT",
        default_value = "human"
    )]
    log_format: LogFormat,
    /// Log level or filter (`info`, `debug`, `ferrobeam::reload=debug,info`). Default:
    /// `FERROBEAM_LOG`, else `RUST_LOG`, else `info`.
    #[arg(long, global = true)]
    log_level: Option<String>,
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
        /// Do not watch the plugins folder and devices.toml (reload with SIGHUP or
        /// `ferrobeam reload` only).
        #[arg(long)]
        no_watch: bool,
        #[command(flatten)]
        node: NodeFlags,
    },
    /// Check a configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
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

/// `[node]` settings on the command line: they beat `FERROBEAM_<KEY>`, which beats the file.
#[derive(clap::Args, Debug, Clone, Default)]
struct NodeFlags {
    /// Port to listen on (0: any free port). `[node] port`, `FERROBEAM_PORT`.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind. `[node] bind`, `FERROBEAM_BIND`.
    #[arg(long)]
    bind: Option<String>,
    /// Folder of the node's store (created on first start). `[node] data_dir`,
    /// `FERROBEAM_DATA_DIR`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Folder of device libraries. `[node] plugins_dir`, `FERROBEAM_PLUGINS_DIR`.
    #[arg(long)]
    plugins_dir: Option<PathBuf>,
    /// The node wallet (an Arweave JWK). `[node] wallet`, `FERROBEAM_WALLET`; default
    /// `ferrobeam-wallet.json` next to the devices file. Created (mode 0600) if missing.
    #[arg(long)]
    wallet: Option<PathBuf>,
    /// Where the store is: `embedded` (the default) or a `postgres://…` URL that several nodes
    /// may share. `[node] store`, `FERROBEAM_STORE`.
    #[arg(long)]
    store: Option<String>,
    /// Any `[node]` setting, e.g. `--set max_body_bytes=1048576` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = overrides::parse_set)]
    set: Vec<Override>,
}

impl NodeFlags {
    /// The flags as overrides, then the environment's.
    fn overrides(self) -> Vec<Override> {
        let mut flags = Vec::new();
        let mut flag = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                flags.push(Override::new(
                    key,
                    v,
                    format!("--{}", key.replace('_', "-")),
                ));
            }
        };
        flag("port", self.port.map(|p| p.to_string()));
        flag("bind", self.bind);
        flag("data_dir", self.data_dir.map(|p| p.display().to_string()));
        flag(
            "plugins_dir",
            self.plugins_dir.map(|p| p.display().to_string()),
        );
        flag("wallet", self.wallet.map(|p| p.display().to_string()));
        flag("store", self.store);
        flags.extend(self.set);
        overrides::layered(flags, overrides::from_env(|k| std::env::var(k).ok()))
    }
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// Check a devices file (and the `[node]` settings of the flags and environment): print
    /// every error with its line; exit 1 if there is any.
    Check {
        /// The devices file.
        #[arg(long, default_value = "devices.toml", env = "FERROBEAM_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        node: NodeFlags,
    },
}

#[derive(Subcommand, Debug)]
enum WalletAction {
    /// Generate a new RSA-4096 wallet (mode 0600) and print its address. Never replaces a file.
    New(WalletArgs),
    /// Print the address of the wallet.
    Address(WalletArgs),
    /// Measure how many signatures a second the node's signing code makes with the wallet on
    /// this machine: the bound on how many new requests a second a node answers, since each
    /// new answer is signed.
    Speed {
        #[command(flatten)]
        wallet: WalletArgs,
        /// Signing threads (default: one per core, as the node signs on its call threads).
        #[arg(long)]
        threads: Option<usize>,
        /// How long to sign, in seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
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
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve { .. }) {
        ferrobeam::allocator::tuned_or_reexec();
    }
    if let Err(e) = logging::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("ferrobeam: {e}");
        return ExitCode::FAILURE;
    }
    match cli.command {
        Command::Serve {
            config,
            no_watch,
            node,
        } => serve(config, node.overrides(), !no_watch),
        Command::Config {
            action: ConfigAction::Check { config, node },
        } => config_check(&config, node.overrides()),
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

/// `ferrobeam wallet new|address|speed`.
fn wallet_command(action: WalletAction) -> ExitCode {
    let (args, create) = match action {
        WalletAction::New(args) => (args, true),
        WalletAction::Address(args) => (args, false),
        WalletAction::Speed {
            wallet,
            threads,
            seconds,
        } => return wallet_speed(&wallet, threads, seconds),
    };
    let path = match wallet_path(&args) {
        Ok(path) => path,
        Err(code) => return code,
    };
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

/// The wallet file the `wallet` commands work on.
fn wallet_path(args: &WalletArgs) -> Result<PathBuf, ExitCode> {
    let configured = if args.config.exists() {
        match DevicesFile::load(&args.config) {
            Ok(f) => f.node.wallet,
            Err(e) => {
                eprintln!("ferrobeam: {e}");
                return Err(ExitCode::FAILURE);
            }
        }
    } else {
        None
    };
    Ok(wallet::resolve_path(
        args.wallet.as_deref(),
        configured.as_deref(),
        &args.config,
    ))
}

/// `ferrobeam wallet speed`: signatures a second on this machine. The last line starts with
/// the figure, for scripts (the load command reads it).
fn wallet_speed(args: &WalletArgs, threads: Option<usize>, seconds: f64) -> ExitCode {
    let Ok(duration) = Duration::try_from_secs_f64(seconds) else {
        eprintln!("ferrobeam: --seconds must be a number of seconds, not {seconds}");
        return ExitCode::FAILURE;
    };
    let path = match wallet_path(args) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let wallet = match Wallet::load(&path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ferrobeam: {e}");
            return ExitCode::FAILURE;
        }
    };
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    println!(
        "{}, RSA-4096 PSS-SHA512 (the node's signing code), {} thread(s) for {seconds} s",
        wallet::speed::library(),
        threads.max(1)
    );
    match wallet::speed::measure(&wallet, threads, duration) {
        Ok(speed) => {
            println!(
                "{:.0} signatures/s ({:.0} per thread)",
                speed.per_second(),
                speed.per_second() / speed.threads as f64
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ferrobeam: {e}");
            ExitCode::FAILURE
        }
    }
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

/// `ferrobeam config check`.
fn config_check(config: &Path, overrides: Vec<Override>) -> ExitCode {
    let errors = check::check(config, overrides);
    if errors.is_empty() {
        println!("{}: ok", config.display());
        return ExitCode::SUCCESS;
    }
    for e in &errors {
        eprintln!("{e}");
    }
    eprintln!(
        "ferrobeam: {} error{} in {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        config.display()
    );
    ExitCode::FAILURE
}

fn serve(config: PathBuf, overrides: Vec<Override>, watch: bool) -> ExitCode {
    if !config.exists() {
        tracing::warn!("{} not found: using defaults", config.display());
    }
    let mut file = match DevicesFile::load_with(&config, overrides) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ferrobeam: {e}");
            return ExitCode::FAILURE;
        }
    };
    let wallet = match node_wallet(&config, None, &file) {
        Ok(w) => w,
        Err(code) => return code,
    };
    // Before listening: a wallet that cannot sign fails the start rather than every answer.
    // (The call threads that start with the node sign once too, `Edge::new`.)
    if let Err(e) = wallet.prepare_thread() {
        eprintln!("ferrobeam: node wallet cannot sign: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(http::worker_threads())
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrobeam: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
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
        tokio::spawn(sample_every_second(node.clone()));
        // Tests and scripts read this line to find the port.
        println!("ferrobeam listening on http://{addr}");
        tracing::info!("listening on http://{addr}");
        let drained = http::serve(http::Edge::new(node.clone()), listener, shutdown_signal()).await;
        // Acknowledged writes are already on disk; the flush adds the caches written without a
        // sync, once the last request is done.
        let flushed = {
            let node = node.clone();
            tokio::task::spawn_blocking(move || node.store().flush()).await
        };
        let _ = std::fs::remove_file(&pid_path);
        node.registry().remove_private_copies();
        match flushed {
            Ok(Ok(())) => {
                tracing::info!(?drained, "store flushed; stopped");
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => {
                tracing::error!("store flush failed: {e}");
                ExitCode::FAILURE
            }
            Err(e) => {
                tracing::error!("store flush failed: {e}");
                ExitCode::FAILURE
            }
        }
    });
    // Requests past the shutdown timeout may still hold blocking threads: do not wait for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// The request-rate history of the status page.
async fn sample_every_second(node: std::sync::Arc<Node>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        node.metrics().sample();
    }
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

/// SIGTERM or SIGINT.
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
            _ = ctrl_c => tracing::info!("SIGINT"),
            _ = term.recv() => tracing::info!("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
