//! Driving `wrk` for one scenario and reading what it measured.

use std::path::Path;
use std::process::Command;

/// One load scenario: the request wrk repeats.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When set, every request carries this header with a value no other request of the run
    /// has (`<run>-<wrk thread>-<count>`), as real clients' requests each differ: nothing is
    /// answered from the node's request memo or its signature cache.
    pub nonce: Option<Nonce>,
}

/// A header made new for every request, and the run it is unique to.
#[derive(Debug, Clone)]
pub struct Nonce {
    pub header: String,
    /// Differs between runs of the load command (and between rounds), so that no request of
    /// one is a request of another.
    pub run: String,
}

impl Scenario {
    /// `GET path`, no headers.
    pub fn get(name: impl Into<String>, path: impl Into<String>) -> Scenario {
        Scenario {
            name: name.into(),
            method: "GET",
            path: path.into(),
            headers: vec![],
            body: vec![],
            nonce: None,
        }
    }
}

/// wrk's settings, the same for every scenario of a run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub duration: u64,
    pub connections: u32,
    pub threads: u32,
}

/// What wrk measured.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Measured {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Socket errors (connect, read, write, timeout) and answers with a status of 400 or more
    /// (wrk's "Non-2xx or 3xx responses": despite the name it counts only those).
    pub errors: u64,
}

/// Runs wrk with `settings` on scenario `s` against `addr`; its report goes to standard error,
/// its figures are returned. `work` holds the scenario's wrk script.
pub fn run(settings: &Settings, work: &Path, addr: &str, s: &Scenario) -> Measured {
    let slug: String = s.name.chars().filter(char::is_ascii_alphanumeric).collect();
    let script = work.join(format!("{slug}.lua"));
    std::fs::write(&script, script_for(s)).expect("write the wrk script");
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
    // wrk reports a script it cannot load on standard error and then runs without it (plain
    // GETs of the path): such a row would measure another request.
    let complaint = String::from_utf8_lossy(&out.stderr);
    assert!(
        complaint.trim().is_empty(),
        "wrk on {:?} ({}): {complaint}",
        s.name,
        script.display()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("--- {}\n{text}", s.name);
    parse(&text)
}

/// The wrk script setting the scenario's method, headers and body.
fn script_for(s: &Scenario) -> String {
    let mut lua = format!("wrk.method = {:?}\n", s.method);
    for (k, v) in &s.headers {
        lua.push_str(&format!(
            "wrk.headers[{}] = {}\n",
            lua_bytes(k.as_bytes()),
            lua_bytes(v.as_bytes())
        ));
    }
    if !s.body.is_empty() {
        lua.push_str(&format!("wrk.body = {}\n", lua_bytes(&s.body)));
    }
    if let Some(nonce) = &s.nonce {
        // Each wrk thread runs its own Lua state: `setup` (run once per thread, in the main
        // state) numbers them, so that two threads never send the same value.
        lua.push_str(&format!(
            "local threads = 0\n\
             function setup(thread)\n  threads = threads + 1\n  thread:set(\"thread\", threads)\nend\n\
             local count = 0\n\
             function request()\n  count = count + 1\n  \
             wrk.headers[{}] = {} .. \"-\" .. thread .. \"-\" .. count\n  \
             return wrk.format()\nend\n",
            lua_bytes(nonce.header.as_bytes()),
            lua_bytes(nonce.run.as_bytes()),
        ));
    }
    lua
}

/// A Lua string literal holding exactly `bytes` (decimal escapes, always three digits: Lua reads
/// up to three, so `\10` followed by the digit `5` would be the byte 105).
fn lua_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 2);
    out.push('"');
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b" -_./:;=,()@~+*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b:03}"));
        }
    }
    out.push('"');
    out
}

/// The figures of wrk's report (`--latency`); what is missing stays 0.
pub fn parse(text: &str) -> Measured {
    let mut m = Measured::default();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            m.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("50%") {
            m.p50_ms = millis(v.trim());
        } else if let Some(v) = line.strip_prefix("99%") {
            m.p99_ms = millis(v.trim());
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            m.requests = n.trim().parse().unwrap_or(0);
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

/// A wrk duration (`812.00us`, `1.52ms`, `2.01s`) in milliseconds.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A wrk (4.1) report of a run where the server answered 500 to some requests and some
    /// connections failed.
    const REPORT: &str = "Running 2s test @ http://127.0.0.1:1234/x
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms    0.50ms   9.00ms   80.00%
    Req/Sec    14.00k     1.00k   16.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    1.60ms
     99%    2.50s
  56000 requests in 2.00s, 10.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 4
  Non-2xx or 3xx responses: 120
Requests/sec:  28000.00
Transfer/sec:      5.00MB
";

    #[test]
    fn a_report_gives_its_figures() {
        let m = parse(REPORT);
        assert_eq!(m.rps, 28000.0);
        assert_eq!(m.p50_ms, 0.812);
        assert_eq!(m.p99_ms, 2500.0);
        assert_eq!(m.requests, 56000);
    }

    #[test]
    fn non_2xx_answers_and_socket_errors_are_errors() {
        assert_eq!(parse(REPORT).errors, 120 + 3 + 4);
    }

    #[test]
    fn a_clean_report_has_no_errors() {
        let clean: String = REPORT
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse(&clean).errors, 0);
    }

    /// wrk's model of a script, as far as the nonce needs it: the script is loaded into a main
    /// state and into one state per thread; `setup(thread)` runs in the main state for each
    /// thread, and `thread:set(name, value)` sets a global of that thread's state; each
    /// thread's state then calls `request()` once per request.
    #[test]
    fn new_each_time_requests_never_repeat() {
        use mlua::Lua;
        let scenario = Scenario {
            name: "fresh".into(),
            method: "POST",
            path: "/~mydev@1.0/forward".into(),
            headers: vec![("key".into(), "abc".into())],
            body: b"x".to_vec(),
            nonce: Some(Nonce {
                header: "nonce".into(),
                run: "run7".into(),
            }),
        };
        let script = script_for(&scenario);
        // `wrk.format()` stands in for the request: it returns the nonce it would send.
        let load = |lua: &Lua| {
            lua.load("wrk = { headers = {}, format = function() return wrk.headers.nonce end }")
                .exec()
                .unwrap();
            lua.load(script.as_str()).exec().unwrap();
        };
        let main = Lua::new();
        load(&main);
        let threads: Vec<Lua> = (0..2).map(|_| Lua::new()).collect();
        for state in &threads {
            load(state);
            let target = state.clone();
            let thread = main.create_table().unwrap();
            let set = main
                .create_function(move |_, (_, name, value): (mlua::Table, String, i64)| {
                    target.globals().set(name, value)
                })
                .unwrap();
            thread.set("set", set).unwrap();
            let setup: mlua::Function = main.globals().get("setup").unwrap();
            setup.call::<()>(thread).unwrap();
        }
        let mut seen = std::collections::HashSet::new();
        for state in &threads {
            let request: mlua::Function = state.globals().get("request").unwrap();
            for _ in 0..100 {
                let nonce: String = request.call(()).unwrap();
                assert!(nonce.starts_with("run7-"), "{nonce}");
                assert!(seen.insert(nonce.clone()), "{nonce} was sent twice");
            }
        }
        // The scenario's own headers are still sent.
        let key: String = threads[0].load("return wrk.headers.key").eval().unwrap();
        assert_eq!(key, "abc");
    }

    #[test]
    fn lua_strings_escape_everything_unusual() {
        assert_eq!(lua_bytes(b"a\"b\n"), "\"a\\034b\\010\"");
        // An escape followed by a digit stays one byte.
        assert_eq!(lua_bytes(b"\n5"), "\"\\0105\"");
    }

    /// Reads a literal as Lua does: `\` and up to three decimal digits make one byte.
    fn lua_read(literal: &str) -> Vec<u8> {
        let inner = &literal.as_bytes()[1..literal.len() - 1];
        let (mut out, mut i) = (Vec::new(), 0);
        while i < inner.len() {
            if inner[i] == b'\\' {
                let digits = inner[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                let text = std::str::from_utf8(&inner[i + 1..i + 1 + digits]).unwrap();
                out.push(text.parse::<u8>().unwrap());
                i += 1 + digits;
            } else {
                out.push(inner[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn every_byte_before_a_digit_reads_back_as_itself() {
        for b in 0..=255u8 {
            let bytes = [b, b'7', b, b'0', b'1', b'2'];
            assert_eq!(lua_read(&lua_bytes(&bytes)), bytes, "byte {b}");
        }
    }
}
