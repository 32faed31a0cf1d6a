//! tools/call latency per IPC transport with the Rust fake host: a benchmark, run by
//! `cargo xtask bench sidecar` (natively and, for the named pipe, under wine). Ignored in
//! the test suite; reports numbers and checks only that the answers are right.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use common::*;
use serde_json::{json, Value};

const CALLS: usize = 300;

fn percentile(sorted: &[f64], pct: f64) -> f64 {
    let index = ((pct / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// One keep-alive connection, so the numbers are the call's, not TCP connects'.
struct KeepAlive {
    stream: TcpStream,
    head: String,
}

impl KeepAlive {
    fn new(session: &McpSession) -> KeepAlive {
        let mut head = format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", session.port);
        for (name, value) in session.headers() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let stream = TcpStream::connect(("127.0.0.1", session.port)).unwrap();
        stream.set_nodelay(true).unwrap();
        KeepAlive { stream, head }
    }

    /// POSTs a tools/call and reads the chunked SSE answer to its last chunk.
    fn call(&mut self, id: u64, a: u64) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "add", "arguments": {"a": a, "b": 1}}})
        .to_string();
        let request = format!("{}Content-Length: {}\r\n\r\n{body}", self.head, body.len());
        self.stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        while !raw.ends_with(b"\r\n0\r\n\r\n") {
            let n = self.stream.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&raw)
            );
            raw.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&raw);
        let data = text
            .lines()
            .find_map(|line| line.strip_prefix("data: "))
            .unwrap_or_else(|| panic!("no data line: {text}"));
        serde_json::from_str(data).unwrap()
    }
}

#[test]
#[ignore = "benchmark: cargo xtask bench sidecar"]
fn tools_call_latency_per_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let sidecar = Sidecar::spawn(&host.endpoint, &[]);
        let session = McpSession::open(sidecar.ready_port());
        let mut client = KeepAlive::new(&session);
        for i in 0..20 {
            client.call(i, i);
        }
        let mut millis: Vec<f64> = (0..CALLS)
            .map(|i| {
                let began = Instant::now();
                let answer = client.call(1000 + i as u64, i as u64);
                let took = began.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(
                    answer["result"]["content"][0]["text"],
                    format!("{}", i + 1),
                    "{answer}"
                );
                took
            })
            .collect();
        millis.sort_by(f64::total_cmp);
        // One line per transport, parsed by the bench: BENCH <transport> <p50 ms> <p95 ms>
        println!(
            "BENCH {ipc:?} {:.3} {:.3}",
            percentile(&millis, 50.0),
            percentile(&millis, 95.0)
        );
    }
}
