//! `ferrobeam-load`: the load command (`make load`).
//!
//! Starts the release node with every first-party device and a bare hyper server, drives both with
//! the same `wrk` settings, and prints one table: req/s, p50, p99, errors, node RSS, and each
//! figure as a ratio of the baseline measured in the same run (machines here are shared and
//! noisy; ratios travel, absolute numbers do not). The rows:
//!
//! * the baseline: the bare server answering `hello`;
//! * the *bound*: the bare server sending the headers of the node's signed `mydev@1.0/info`
//!   response with no work behind them, which is as fast as a node could answer that request on
//!   this machine;
//! * signed `GET /~mydev@1.0/info`, `GET /~meta@1.0/info`, and the guide's signed typed POST to
//!   `forward` (a captured wao request, when `../shared/vectors` has it);
//! * that POST unsigned and new for every request (a `nonce` header no other request of the run
//!   has), as real clients' requests each differ: every answer then needs a fresh RSA-4096
//!   signature, so the row is judged against the machine's signing rate (`ferrobeam wallet speed`
//!   on every core, measured after the rounds) rather than the baseline;
//! * a large request: the captured 78 KB body of wao's `spawnLua` POSTed unsigned to
//!   `/~message@1.0/keys` (decoding, limits and hashpath of a large message);
//! * `GET /<pid>~process@1.0/now/balances/<owner>` of the guide's AOS token process
//!   (`tests/fixtures/lua/token.lua` on `aos@2.0`);
//! * the guide's dynamic read on that process,
//!   `GET /<pid>~process@1.0/now/~lua@5.3a&module=<circulating-supply.lua>/calculate/serialize~json@1.0`.
//!
//! Before anything is timed the token process is set up on the node (spawned by test wallet 2,
//! the node running as test wallet 1; the token code and the owner's funding evaluated,
//! [`TRANSFERS`] Transfers scheduled and computed, `circulating-supply.lua` uploaded) and one
//! line says what was set up. Before that setup, the node's first five requests, each new and
//! on its own connection, are timed one after the other: what a fresh node's first clients
//! wait (printed under the table). Each scenario's request is also sent once before its run: when
//! that answer is not 200, every request of the row counts as an error, since wrk itself counts
//! only socket errors and statuses of 400 or more.
//!
//! ```text
//! ferrobeam-load [--duration SECS] [--connections N] [--threads N] [--only TEXT] [--rounds N]
//! ```
//! `--only TEXT` measures the baseline and only the node rows whose name contains `TEXT` (for
//! profiling one row: the node's PID is printed before the runs). `--rounds N` measures the
//! baseline and the node rows N times, one after the other, and prints a table per round; the
//! signed GET's target line then gives every round's ratio and judges their median, since one
//! 10 s run on a shared machine can land anywhere in a wide band (`BENCHMARKS.md`).
//! Expects `make plugins` to have built `target/release/ferrobeam` and installed the plugins in
//! `target/plugins` (under `CARGO_TARGET_DIR` when it is set), and `wrk` on the PATH (`make load`
//! does both).
#![allow(clippy::expect_used)] // a command-line tool: failing loudly with the reason is right

mod wrk;

use ferrobeam_tests::token::{self, TokenProcess};
use ferrobeam_tests::{http, test_wallet, vectors_dir, Scratch};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wrk::{Measured, Nonce, Scenario, Settings};

/// Tokens the owner of the token process is funded with.
const FUNDS: usize = 1000;
/// Transfers scheduled on the token process before the runs (one token each).
const TRANSFERS: usize = 10;

/// One row of the table.
struct Row {
    name: String,
    measured: Measured,
    /// The status of the answer to the scenario's request sent once before the run.
    answer: u16,
    /// The node's RSS after the run, in KiB (node rows only).
    rss_kib: Option<u64>,
}

impl Row {
    /// The row's errors: wrk's, or every request when the answer before the run was not 200.
    fn errors(&self) -> u64 {
        if self.answer == 200 {
            self.measured.errors
        } else {
            self.measured.errors.max(self.measured.requests)
        }
    }

    /// The errors cell: the count, with the status when the answer was not 200.
    fn errors_cell(&self) -> String {
        if self.answer == 200 {
            self.errors().to_string()
        } else {
            format!("{} (answers {})", self.errors(), self.answer)
        }
    }
}

/// The token process set up on the node, and the ID of the uploaded dynamic-read script.
struct TokenSetup {
    token: TokenProcess,
    supply_module: String,
}

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// wrk's settings from the command line (defaults: 10 s, 32 connections, 2 threads).
fn settings_from_args() -> Settings {
    Settings {
        duration: arg("--duration").and_then(|v| v.parse().ok()).unwrap_or(10),
        connections: arg("--connections")
            .and_then(|v| v.parse().ok())
            .unwrap_or(32),
        threads: arg("--threads").and_then(|v| v.parse().ok()).unwrap_or(2),
    }
}

fn main() {
    let settings = settings_from_args();
    let root = workspace_root();
    let target = target_dir(&root);
    let release = target.join("release");
    // Dropped last: the servers below run in it.
    let scratch = Scratch::new("load");
    install_plugins(&target.join("plugins"), &scratch.plugins());
    let config = scratch.write_config(&node_config());

    let baseline = start_baseline(&release, None);
    let node = start_node(&release, &config);
    let idle_rss = rss_kib(node.child.id());
    // Before anything else reaches the node: what the first clients of a fresh node wait.
    let first = first_new_requests(&node.addr, &baseline.addr);
    let setup = set_up_token(&release, &node.addr, &config, &scratch.dir);
    let only = arg("--only");
    println!("node: PID {} on {}", node.child.id(), node.addr);

    // What makes this run's new-each-time requests differ from any earlier run's.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let rounds: usize = arg("--rounds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let chosen = |s: &Scenario| only.as_deref().is_none_or(|text| s.name.contains(text));
    let mut all = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        if rounds > 1 {
            println!("\n=== round {round} of {rounds}");
        }
        let mut rows = vec![measure(
            &settings,
            &scratch.dir,
            &baseline.addr,
            &Scenario::get("baseline: bare hyper `hello`", "/"),
            None,
        )];
        if round == 1 && only.is_none() {
            rows.push(measure_bound(&settings, &release, &scratch.dir, &node.addr));
        }
        let run = format!("{started}r{round}");
        for scenario in node_scenarios(&setup, &run).into_iter().filter(chosen) {
            rows.push(measure(
                &settings,
                &scratch.dir,
                &node.addr,
                &scenario,
                Some(node.child.id()),
            ));
        }
        print_table(&settings, &rows);
        print_bound_ratio(&rows);
        all.push(rows);
    }
    print_rsa_bound(&release, &all);
    println!(
        "\nnode RSS idle, every first-party plugin loaded: {:.1} MB",
        idle_rss as f64 / 1024.0
    );
    println!("{first}");
    print_targets(&all, idle_rss);
}

/// The issue's targets this run measures, one `target:` line each (`make targets` collects them).
/// With several rounds, the signed GET's ratio is the median of the rounds' ratios (each round
/// measures the baseline again right before the node), and its errors are every round's.
fn print_targets(rounds: &[Vec<Row>], idle_rss_kib: u64) {
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    // (ratio, node req/s, baseline req/s, errors) of each round.
    let mut signed: Vec<(f64, f64, f64, u64)> = rounds
        .iter()
        .filter_map(|rows| {
            let baseline = rows.iter().find(|row| row.name.starts_with("baseline:"))?;
            let node = rows.iter().find(|row| row.name.starts_with("signed GET"))?;
            let (rps, base) = (node.measured.rps, baseline.measured.rps);
            Some((rps / base.max(1.0), rps, base, node.errors()))
        })
        .collect();
    if !signed.is_empty() {
        let errors: u64 = signed.iter().map(|r| r.3).sum();
        let each: Vec<String> = signed.iter().map(|r| format!("{:.2}", r.0)).collect();
        signed.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (ratio, rps, base, _) = signed[(signed.len() - 1) / 2];
        let measured = if signed.len() == 1 {
            format!("{ratio:.2} ({rps:.0} / {base:.0} req/s)")
        } else {
            format!(
                "{ratio:.2}, the median of {} rounds ({}; {rps:.0} / {base:.0} req/s in the median round)",
                signed.len(),
                each.join(", ")
            )
        };
        println!(
            "target: signed GET /~mydev@1.0/info >= 0.5 of the bare hyper baseline, 0 errors | {measured}, {errors} errors | {}",
            verdict(ratio >= 0.5 && errors == 0)
        );
    }
    let mb = idle_rss_kib as f64 / 1024.0;
    println!(
        "target: idle RSS <= 30 MB with every first-party plugin loaded | {mb:.1} MB | {}",
        verdict(mb <= 30.0)
    );
}

/// Copies the installed plugin libraries (`*.so` of `from`) into the node's folder `to`.
fn install_plugins(from: &Path, to: &Path) {
    let entries = std::fs::read_dir(from).expect("target/plugins (run `make plugins`)");
    for entry in entries {
        let path = entry.expect("plugin entry").path();
        if path.extension().is_some_and(|e| e == "so") {
            let name = path.file_name().expect("a library file name");
            std::fs::copy(&path, to.join(name)).expect("copy a plugin");
        }
    }
}

/// The node's devices.toml: its folders, and the process, Lua and AOS devices the token process
/// needs (`ferrobeam_tests::token::devices_toml`); every other library loads as installed.
fn node_config() -> String {
    format!(
        "[node]\nplugins_dir = \"plugins\"\ndata_dir = \"data\"\n\n{}",
        token::devices_toml(true)
    )
}

/// The bare hyper server, sending the header lines of the file `headers` with every answer
/// when given.
fn start_baseline(release: &Path, headers: Option<&Path>) -> Started {
    let mut command = Command::new(release.join("hello-baseline"));
    command.args(["--port", "0"]);
    if let Some(file) = headers {
        command.arg("--headers").arg(file);
    }
    Started::spawn(&mut command, "hello-baseline listening on http://")
}

/// The release node with `config`; its wallet is the vectors' test wallet 1 (never a generated
/// key), so that the token process can name it as its scheduler.
fn start_node(release: &Path, config: &Path) -> Started {
    Started::spawn(
        Command::new(release.join("ferrobeam"))
            .args(["serve", "--no-watch", "--port", "0", "--config"])
            .arg(config)
            .env("FERROBEAM_WALLET", test_wallet(1))
            .env("FERROBEAM_LOG", "warn"),
        "ferrobeam listening on http://",
    )
}

/// Spawns the guide's token process on the node at `addr`, funds its owner, schedules and
/// computes [`TRANSFERS`] Transfers, checks the owner's balance, uploads
/// `circulating-supply.lua` (into `dir`, then to the node), and prints one line saying so.
fn set_up_token(release: &Path, addr: &str, config: &Path, dir: &Path) -> TokenSetup {
    let seed = format!("ferrobeam-load-{}", std::process::id());
    let token = TokenProcess::spawn(addr, &seed, FUNDS).unwrap_or_else(|e| panic!("{e}"));
    token.transfers(TRANSFERS).unwrap_or_else(|e| panic!("{e}"));
    let owner = token::owner();
    let balance = token
        .now(&format!("balances/{owner}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .text();
    assert_eq!(
        balance,
        (FUNDS - TRANSFERS).to_string(),
        "the owner's balance after {TRANSFERS} Transfers of 1"
    );
    let supply_module = token::upload_supply(
        &release.join("ferrobeam"),
        addr,
        config,
        &test_wallet(1),
        dir,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "set up: token process {} (aos@2.0, tests/fixtures/lua/token.lua; owner {owner} funded with {FUNDS}), \
         {TRANSFERS} Transfers scheduled and computed (owner's balance {balance}), \
         circulating-supply.lua uploaded as {supply_module}",
        token.pid
    );
    TokenSetup {
        token,
        supply_module,
    }
}

/// The bound: the bare server sending the headers of the node's signed `mydev@1.0/info`
/// response, fetched from the node at `node` once, measured like the baseline.
fn measure_bound(settings: &Settings, release: &Path, work: &Path, node: &str) -> Row {
    let signed_headers = work.join("signed-headers.txt");
    std::fs::write(&signed_headers, response_headers(node, "/~mydev@1.0/info"))
        .expect("signed headers file");
    let server = start_baseline(release, Some(&signed_headers));
    measure(
        settings,
        work,
        &server.addr,
        &Scenario::get(
            "bound: bare hyper `hello` with the signed `mydev@1.0/info` headers",
            "/",
        ),
        None,
    )
}

/// The node's scenarios, in table order; `run` makes the new-each-time row's requests unique
/// to this round of this run.
fn node_scenarios(setup: &TokenSetup, run: &str) -> Vec<Scenario> {
    let pid = &setup.token.pid;
    let mut list = vec![
        Scenario::get("signed GET /~mydev@1.0/info", "/~mydev@1.0/info"),
        Scenario::get("GET /~meta@1.0/info", "/~meta@1.0/info"),
    ];
    list.extend(captured("07-wao-post-typed-multipart.json"));
    list.extend(new_each_time("07-wao-post-typed-multipart.json", run));
    list.extend(large_body());
    list.push(Scenario::get(
        format!(
            "token process ({TRANSFERS} Transfers): GET /<pid>~process@1.0/now/balances/<owner>"
        ),
        setup
            .token
            .now_path(&format!("balances/{}", token::owner())),
    ));
    list.push(Scenario::get(
        "dynamic read: GET /<pid>~process@1.0/now/~lua@5.3a&module=<circulating-supply.lua>/calculate/serialize~json@1.0",
        token::dynamic_read_path(pid, &setup.supply_module),
    ));
    list
}

/// Runs scenario `s` against `addr`: its request once (the answer's status), then wrk; the
/// RSS of process `rss_of` after the run.
fn measure(settings: &Settings, work: &Path, addr: &str, s: &Scenario, rss_of: Option<u32>) -> Row {
    let answer = first_answer(addr, s);
    let measured = wrk::run(settings, work, addr, s);
    Row {
        name: s.name.clone(),
        measured,
        answer,
        rss_kib: rss_of.map(rss_kib),
    }
}

/// The status of the answer to the scenario's request, sent once; what else came back is
/// printed when it is not 200.
fn first_answer(addr: &str, s: &Scenario) -> u16 {
    let headers: Vec<(&str, &str)> = s
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = http::request(addr, s.method, &s.path, &headers, &s.body);
    if r.status != 200 {
        eprintln!(
            "!!! {}: answered {} (its requests count as errors): {}",
            s.name,
            r.status,
            r.text()
        );
    }
    r.status
}

/// The table, ratios against the first row (the baseline).
fn print_table(settings: &Settings, rows: &[Row]) {
    let base_rps = rows.first().map_or(0.0, |r| r.measured.rps);
    println!(
        "\nwrk -t{} -c{} -d{}s, node and baseline on the same machine, in this run:\n",
        settings.threads, settings.connections, settings.duration
    );
    println!("| scenario | req/s | ratio to baseline | p50 | p99 | errors | node RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for row in rows {
        let m = &row.measured;
        let ratio = if base_rps > 0.0 {
            m.rps / base_rps
        } else {
            0.0
        };
        println!(
            "| {} | {:.0} | {} | {:.2} ms | {:.2} ms | {} | {} |",
            row.name,
            m.rps,
            ratio_cell(ratio),
            m.p50_ms,
            m.p99_ms,
            row.errors_cell(),
            row.rss_kib
                .map(|r| format!("{:.1} MB", r as f64 / 1024.0))
                .unwrap_or_else(|| "-".to_owned())
        );
    }
}

/// A ratio with two decimals, three below 0.1 (so that a slow row does not read 0.00).
fn ratio_cell(ratio: f64) -> String {
    if ratio >= 0.1 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.3}")
    }
}

/// The signed `mydev@1.0/info` row as a ratio of the bound.
fn print_bound_ratio(rows: &[Row]) {
    let rps_of = |prefix: &str| {
        rows.iter()
            .find(|row| row.name.starts_with(prefix))
            .map(|row| row.measured.rps)
    };
    if let (Some(node_rps), Some(bound_rps)) = (rps_of("signed GET"), rps_of("bound:")) {
        if bound_rps > 0.0 {
            println!(
                "\nsigned GET /~mydev@1.0/info against the bound: {:.2}",
                node_rps / bound_rps
            );
        }
    }
}

/// The new-each-time row of each round against its bound: every answer needs a fresh RSA-4096
/// signature, so no node answers more of them per second than the machine makes signatures,
/// which `ferrobeam wallet speed` measures right after the rounds (the node's own signing code
/// and library, on every core, as the node signs on its call threads).
fn print_rsa_bound(release: &Path, rounds: &[Vec<Row>]) {
    let rps: Vec<f64> = rounds
        .iter()
        .filter_map(|rows| rows.iter().find(|row| row.name == NEW_EACH_TIME))
        .map(|row| row.measured.rps)
        .collect();
    if rps.is_empty() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some((library, signatures)) = signatures_per_second(release, cores) else {
        println!(
            "\nnew requests against the RSA-4096 bound: not measured (`ferrobeam wallet speed` failed)"
        );
        return;
    };
    let each: Vec<String> = rps
        .iter()
        .map(|r| format!("{:.2} ({r:.0} req/s)", r / signatures))
        .collect();
    println!(
        "\nnew requests against the RSA-4096 bound (`ferrobeam wallet speed --threads {cores}`, \
         {library}: {signatures:.0} signatures/s): {}",
        each.join(", ")
    );
}

/// `ferrobeam wallet speed --threads <cores> --seconds 3` with the node's wallet: the library it
/// names on its first line (up to the comma), and the signatures per second that start its last.
fn signatures_per_second(release: &Path, cores: usize) -> Option<(String, f64)> {
    let out = Command::new(release.join("ferrobeam"))
        .args(["wallet", "speed", "--seconds", "3", "--threads"])
        .arg(cores.to_string())
        .arg("--wallet")
        .arg(test_wallet(1))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let library = text.lines().next()?.split(',').next()?.to_owned();
    let figure = text
        .lines()
        .last()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((library, figure))
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

/// A captured client request of the vectors, replayed as sent (the guide's typed POST); `None`
/// when the vectors do not have it.
fn captured(file: &str) -> Option<Scenario> {
    captured_request(file, "typed POST (guide, signed multipart) to forward")
}

/// The name of the row whose every request is new.
const NEW_EACH_TIME: &str = "typed POST (guide, unsigned), a new request each time, to forward";

/// The guide's typed POST without its signature, made new for every request by a `nonce`
/// header, as real clients' requests each differ (each has its own signature): every request is
/// decoded, and every answer, being new, gets a fresh RSA-4096 signature from the node
/// (`spec/codecs.md` §10.2). That signature is the row's bound ([`print_rsa_bound`]).
fn new_each_time(file: &str, run: &str) -> Option<Scenario> {
    let mut s = captured_request(file, NEW_EACH_TIME)?;
    s.headers.retain(|(k, _)| {
        !["signature", "signature-input"].contains(&k.to_ascii_lowercase().as_str())
    });
    s.nonce = Some(Nonce {
        header: "nonce".to_owned(),
        run: run.to_owned(),
    });
    Some(s)
}

/// The captured 78 KB body of wao's `spawnLua` (the aos module in one multipart part), POSTed
/// unsigned to `message@1.0/keys`: what a large request costs the node (decoding, limits,
/// hashpath) apart from what a process does with it. `None` when the vectors do not have it.
fn large_body() -> Option<Scenario> {
    const BODY_HEADERS: [&str; 4] = [
        "content-type",
        "content-digest",
        "body-keys",
        "inline-body-key",
    ];
    let mut s = captured_request("22-wao-spawnLua-hyper-aos.req1.json", "")?;
    s.name = format!(
        "{} KB multipart POST (wao spawnLua's body, unsigned) to /~message@1.0/keys",
        s.body.len() / 1000
    );
    s.path = "/~message@1.0/keys".to_owned();
    s.headers
        .retain(|(k, _)| BODY_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
    Some(s)
}

/// The POST in `client-requests/<file>` as scenario `name`: its path, its headers (without
/// `host`, `connection` and `content-length`) and its body.
fn captured_request(file: &str, name: &str) -> Option<Scenario> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(vectors_dir().join("client-requests").join(file)).ok()?;
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
        name: name.to_owned(),
        method: "POST",
        path: req["path"].as_str()?.to_owned(),
        headers,
        body,
        nonce: None,
    })
}

/// New requests sent to the fresh node one after the other, each on its own connection, by
/// [`first_new_requests`].
const FIRST_REQUESTS: usize = 5;

/// Times the first [`FIRST_REQUESTS`] requests of a fresh node, each new (a `nonce` header) and
/// so answered with a fresh signature: the line to print, e.g. `a fresh node's first new
/// requests, each on a new connection: 2.2 ms, then 2.0, 2.1, 2.0, 2.1 ms`. A node that makes
/// its first clients wait shows it in the first figure. One request to the bare server at
/// `baseline` goes first, untimed, so that what this process does on its own first connection
/// is not counted as the node's.
fn first_new_requests(addr: &str, baseline: &str) -> String {
    http::request(baseline, "GET", "/", &[], b"");
    let nonce = format!("first-{}", std::process::id());
    let mut times = Vec::with_capacity(FIRST_REQUESTS);
    for i in 0..FIRST_REQUESTS {
        let value = format!("{nonce}-{i}");
        let start = std::time::Instant::now();
        let response = http::request(addr, "POST", "/~mydev@1.0/info", &[("nonce", &value)], b"");
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if response.status != 200 {
            return format!(
                "a fresh node's first new request answered {}",
                response.status
            );
        }
        times.push(format!("{ms:.1}"));
    }
    let (first, next) = times.split_at(1);
    format!(
        "a fresh node's first new requests, each on a new connection: {} ms, then {} ms",
        first.join(""),
        next.join(", ")
    )
}

/// The resident set size of process `pid` in KiB (0 when `/proc` does not say).
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

/// A child process that printed `marker<addr>` on stdout; killed when dropped.
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
                let _ = child.wait();
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
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(answer: u16, requests: u64, errors: u64) -> Row {
        Row {
            name: "r".to_owned(),
            measured: Measured {
                requests,
                errors,
                ..Measured::default()
            },
            answer,
            rss_kib: None,
        }
    }

    #[test]
    fn a_row_answering_200_has_wrks_errors() {
        assert_eq!(row(200, 1000, 3).errors_cell(), "3");
    }

    #[test]
    fn a_row_answering_4xx_or_5xx_counts_every_request() {
        // wrk counted 990 of them; the row counts every request.
        assert_eq!(row(500, 1000, 990).errors_cell(), "1000 (answers 500)");
    }

    #[test]
    fn a_row_answering_another_2xx_or_3xx_counts_every_request() {
        // wrk counts no error for these.
        assert_eq!(row(302, 1000, 0).errors_cell(), "1000 (answers 302)");
        assert_eq!(row(204, 1000, 0).errors(), 1000);
    }

    #[test]
    fn small_ratios_keep_a_digit() {
        assert_eq!(ratio_cell(0.4123), "0.41");
        assert_eq!(ratio_cell(0.0044), "0.004");
    }
}
