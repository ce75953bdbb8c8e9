//! Test support for ferrobeam's end-to-end tests: build a plugins folder from the workspace's
//! built libraries, start a real `ferrobeam` process on a free port, and talk HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod bench;
pub mod http;
pub mod pg;
pub mod signatures;
pub mod token;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The cargo target profile folder the tests were built into (…/target/debug).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // …/target/debug/deps/it-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target profile folder")
        .to_path_buf()
}

/// A built plugin library of the workspace, e.g. `library("mydev")` → `…/libmydev.so`.
pub fn library(crate_name: &str) -> PathBuf {
    let file = format!("lib{}.so", crate_name.replace('-', "_"));
    let path = target_dir().join(&file);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` before the tests (make test does)",
        path.display()
    );
    path
}

/// The first-party plugins every node in these tests loads.
pub const FIRST_PARTY: &[&str] = &[
    "ferrobeam-codecs",
    "ferrobeam-message",
    "ferrobeam-meta",
    "mydev",
    "ferrobeam-process",
    "ferrobeam-lua",
];

/// The shared test vectors (`../shared/vectors`).
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("FERROBEAM_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"))
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A scratch folder for one node.
#[derive(Debug)]
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("ferrobeam-it-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        Scratch { dir }
    }

    /// A scratch folder with every first-party plugin and the built libraries `extra` (test
    /// fixtures, by crate name) installed.
    pub fn with_first_party(tag: &str, extra: &[&str]) -> Scratch {
        let scratch = Scratch::new(tag);
        for p in FIRST_PARTY.iter().chain(extra) {
            scratch.install(p);
        }
        scratch
    }

    pub fn plugins(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// Copies a built library into the plugins folder.
    pub fn install(&self, crate_name: &str) -> PathBuf {
        let src = library(crate_name);
        let dst = self.plugins().join(src.file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap();
        dst
    }

    /// Installs `bytes` as `name` in the plugins folder the way users should: a temporary
    /// file, then a rename.
    pub fn install_bytes(&self, name: &str, bytes: &[u8]) {
        let temp = self.plugins().join(format!(".{name}.tmp"));
        std::fs::write(&temp, bytes).unwrap();
        std::fs::rename(&temp, self.plugins().join(name)).unwrap();
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let path = self.dir.join("devices.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `ferrobeam serve` process, killed on drop.
#[derive(Debug)]
pub struct NodeProcess {
    child: Child,
    pub addr: String,
    log: Arc<Mutex<Vec<String>>>,
    pub scratch: Scratch,
}

impl NodeProcess {
    /// Starts a node with the first-party plugins and `config` as its devices.toml
    /// (`[node] plugins_dir = "plugins"` is the default).
    pub fn start(config: &str) -> NodeProcess {
        let scratch = Scratch::new("node");
        for p in FIRST_PARTY {
            scratch.install(p);
        }
        Self::start_in(scratch, config)
    }

    /// Starts a node in a prepared scratch folder.
    pub fn start_in(scratch: Scratch, config: &str) -> NodeProcess {
        Self::start_with(scratch, config, &[])
    }

    /// Starts a node in a prepared scratch folder with extra `serve` arguments. Its wallet is
    /// the vectors' test wallet 1 (`FERROBEAM_WALLET`): tests never generate RSA keys.
    pub fn start_with(scratch: Scratch, config: &str, args: &[&str]) -> NodeProcess {
        Self::start_with_wallet(scratch, config, args, Some(&test_wallet(1)))
    }

    /// [`NodeProcess::start_with`] with `wallet` as `FERROBEAM_WALLET`, or no such variable
    /// (then `--wallet`, `[node] wallet` or the default file decide).
    pub fn start_with_wallet(
        scratch: Scratch,
        config: &str,
        args: &[&str],
        wallet: Option<&Path>,
    ) -> NodeProcess {
        Self::start_with_env(scratch, config, args, wallet, &[])
    }

    /// [`NodeProcess::start_with_wallet`] with more environment variables for the node.
    pub fn start_with_env(
        scratch: Scratch,
        config: &str,
        args: &[&str],
        wallet: Option<&Path>,
        env: &[(&str, &Path)],
    ) -> NodeProcess {
        let config_path = scratch.write_config(config);
        let mut command = Command::new(target_dir().join("ferrobeam"));
        command.envs(env.iter().copied());
        match wallet {
            Some(w) => command.env("FERROBEAM_WALLET", w),
            None => command.env_remove("FERROBEAM_WALLET"),
        };
        let mut child = command
            .args(["serve", "--port", "0", "--config"])
            .arg(&config_path)
            .args(args)
            .env("FERROBEAM_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the ferrobeam binary (is it built?)");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut addr = None;
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(rest) = line.trim().strip_prefix("ferrobeam listening on http://") {
                addr = Some(rest.to_owned());
                break;
            }
            line.clear();
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "node did not start; log:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        // Keep draining stdout so the node never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        NodeProcess {
            child,
            addr,
            log,
            scratch,
        }
    }

    /// Kills the node with SIGKILL — a crash: no shutdown runs — and waits for it to die. The
    /// scratch folder (its store included) stays until the `NodeProcess` is dropped.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`…) to the node.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the node to exit; its exit status, or `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `ferrobeam upload FILE` to this node, signed with test wallet `wallet`, plus `extra`
    /// arguments; its output, whatever the outcome.
    pub fn upload(&self, wallet: usize, file: &Path, extra: &[&str]) -> std::process::Output {
        upload_command(
            &ferrobeam_bin(),
            &self.addr,
            &self.scratch.dir.join("devices.toml"),
            &test_wallet(wallet),
            file,
            extra,
        )
        .output()
        .expect("run ferrobeam upload")
    }

    /// The node's process ID, from the pid file it writes when it starts serving.
    pub fn pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.scratch.dir.join(".ferrobeam.pid")).ok()?;
        pid.trim().parse().ok()
    }

    /// The node's resident set size in KiB (from `/proc`), while it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The node's device status (`/~meta@1.0/devices`) as JSON.
    pub fn devices(&self) -> serde_json::Value {
        let r = self.get("/~meta@1.0/devices/serialize~json@1.0");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// The `version` header of `GET /~<device>/info`, or the status when it failed.
    pub fn info_version(&self, device: &str) -> Result<String, u16> {
        let r = self.get(&format!("/~{device}/info"));
        match (r.status, r.header("version")) {
            (200, Some(v)) => Ok(v.to_owned()),
            (status, _) => Err(status),
        }
    }

    pub fn get(&self, path: &str) -> http::Response {
        http::request(&self.addr, "GET", path, &[], b"")
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> http::Response {
        http::request(&self.addr, method, path, headers, body)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Test wallet `n` (1 or 2) of the vectors: public RSA-4096 keys for tests only.
pub fn test_wallet(n: usize) -> PathBuf {
    vectors_dir().join(format!("wallets/test-wallet-{n}.json"))
}

/// The `ferrobeam` binary built with the tests.
pub fn ferrobeam_bin() -> PathBuf {
    target_dir().join("ferrobeam")
}

/// `binary upload FILE` (`binary`: a `ferrobeam` binary) to the node at `addr`, signed with the
/// wallet file `wallet`, with `config` as its devices file, plus `extra` arguments.
pub fn upload_command(
    binary: &Path,
    addr: &str,
    config: &Path,
    wallet: &Path,
    file: &Path,
    extra: &[&str],
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("upload")
        .arg(file)
        .args(["--node", &format!("http://{addr}")])
        .arg("--wallet")
        .arg(wallet)
        .arg("--config")
        .arg(config)
        .args(extra);
    command
}

/// Runs `cmd`, which must succeed (else the test fails with its standard error); its standard
/// output, trimmed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A captured client request from `vectors/client-requests/`, replayed byte for byte.
pub fn replay(addr: &str, capture: &str) -> http::Response {
    use base64::Engine as _;
    let path = vectors_dir().join("client-requests").join(capture);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let req = &v["request"];
    let mut raw = format!(
        "{} {} HTTP/1.1\r\n",
        req["method"].as_str().unwrap(),
        req["path"].as_str().unwrap()
    );
    for pair in req["headers"].as_array().unwrap() {
        let (k, val) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        // One request per connection here.
        let val = if k.eq_ignore_ascii_case("connection") {
            "close"
        } else {
            val
        };
        raw.push_str(&format!("{k}: {val}\r\n"));
    }
    raw.push_str("\r\n");
    let mut bytes = raw.into_bytes();
    let body = base64::engine::general_purpose::STANDARD
        .decode(req["body_b64"].as_str().unwrap_or(""))
        .unwrap();
    bytes.extend_from_slice(&body);
    http::send_raw(addr, &bytes)
}
