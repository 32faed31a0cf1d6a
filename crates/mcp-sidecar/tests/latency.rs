//! tools/call latency per IPC transport with the Rust fake host: a benchmark, run by
//! `cargo xtask bench sidecar` (natively and, for the named pipe, under wine). Ignored in
//! the test suite; reports numbers and checks only that the answers are right.

mod common;

use std::time::Instant;

use common::*;
use serde_json::json;

const CALLS: usize = 300;

fn percentile(sorted: &[f64], pct: f64) -> f64 {
    let index = ((pct / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[test]
#[ignore = "benchmark: cargo xtask bench sidecar"]
fn tools_call_latency_per_transport() {
    for ipc in transports() {
        let host = MockHost::start_on(ipc, HostOptions::default());
        let sidecar = Sidecar::spawn(&host.endpoint, &[]);
        let session = McpSession::open(sidecar.ready_port());
        for i in 0..20 {
            session.call_tool(i, "add", json!({"a": i, "b": 1}));
        }
        let mut millis: Vec<f64> = (0..CALLS)
            .map(|i| {
                let began = Instant::now();
                let answer = session.call_tool(1000 + i as u64, "add", json!({"a": i, "b": 1}));
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
