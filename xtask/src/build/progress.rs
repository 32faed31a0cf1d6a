//! What a person sees while cargo builds: on a terminal, one live spinner per target with its
//! elapsed time and cargo's latest line folded into it; otherwise (a pipe, a log, `--json`)
//! plain lines, with cargo's own output passed through untouched.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Progress {
    Plain,
    Live {
        multi: MultiProgress,
        bars: BTreeMap<String, ProgressBar>,
        /// Cargo's lines of the running invocation, printed in full if it fails.
        log: Mutex<Vec<String>>,
    },
}

impl Progress {
    /// Live bars only on a terminal and only when stdout is not a JSON document.
    pub fn for_stderr(json: bool) -> Progress {
        if json || !std::io::stderr().is_terminal() {
            Progress::Plain
        } else {
            Progress::live(ProgressDrawTarget::stderr())
        }
    }

    pub fn live(target: ProgressDrawTarget) -> Progress {
        Progress::Live {
            multi: MultiProgress::with_draw_target(target),
            bars: BTreeMap::new(),
            log: Mutex::new(Vec::new()),
        }
    }

    /// True when cargo's stderr must come through us (to be folded into the bars).
    pub fn captures_cargo(&self) -> bool {
        matches!(self, Progress::Live { .. })
    }

    /// A spinner per target of an invocation that is starting.
    pub fn start(&mut self, triples: &[&str]) {
        let Progress::Live { multi, bars, log } = self else {
            return;
        };
        log.get_mut().map(Vec::clear).unwrap_or_default();
        let style =
            ProgressStyle::with_template("    {spinner} {prefix:<28} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        for triple in triples {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(triple.to_string());
            bar.set_message("waiting for cargo");
            bar.enable_steady_tick(Duration::from_millis(120));
            bars.insert(triple.to_string(), bar);
        }
    }

    /// A line of ours, printed above the bars.
    pub fn say(&self, line: &str) {
        match self {
            Progress::Live { multi, .. } => {
                let _ = multi.println(line);
            }
            // One write, so cargo's own stderr lines cannot split it.
            Progress::Plain => {
                let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
            }
        }
    }

    /// One of cargo's stderr lines (only seen when `captures_cargo`): shown on every bar still spinning.
    pub fn cargo_line(&self, line: &str) {
        let Progress::Live { multi, bars, log } = self else {
            return;
        };
        if let Ok(mut log) = log.lock() {
            log.push(line.to_string());
        }
        let line = line.trim();
        // Warnings and errors stay readable in full; progress lines only update the bars.
        if line.starts_with("warning") || line.starts_with("error") {
            let _ = multi.println(format!("    {line}"));
        }
        for bar in bars.values().filter(|b| !b.is_finished()) {
            bar.set_message(line.to_string());
        }
    }

    /// The target's binary is linked.
    pub fn linked(&self, triple: &str, secs: f64) {
        match self {
            Progress::Live { bars, .. } => {
                if let Some(bar) = bars.get(triple) {
                    bar.finish_with_message(format!("built in {secs:.1} s"));
                }
            }
            Progress::Plain => self.say(&format!("    built {triple:<28} {secs:>7.1} s")),
        }
    }

    /// Stops every spinner; after a failed invocation, prints everything cargo said.
    pub fn finish(&self, failed: bool) {
        if let Progress::Live { multi, bars, log } = self {
            for bar in bars.values().filter(|b| !b.is_finished()) {
                bar.abandon();
            }
            if failed {
                let _ = multi.clear();
                for line in log.lock().map(|l| l.clone()).unwrap_or_default() {
                    eprintln!("{line}");
                }
            }
        }
    }

    #[cfg(test)]
    fn message(&self, triple: &str) -> Option<(String, bool)> {
        let Progress::Live { bars, .. } = self else {
            return None;
        };
        bars.get(triple).map(|b| (b.message(), b.is_finished()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_or_a_pipe_gives_plain_lines() {
        // Tests run with stderr captured (not a terminal) or under --json: never live.
        assert!(!Progress::for_stderr(true).captures_cargo());
    }

    #[test]
    fn cargo_lines_fold_into_the_spinners_until_each_target_links() {
        let mut p = Progress::live(ProgressDrawTarget::hidden());
        assert!(p.captures_cargo());
        p.start(&["a-linux", "b-darwin"]);
        p.cargo_line("   Compiling tokio v1.0.0\n");
        assert_eq!(
            p.message("a-linux").unwrap(),
            ("Compiling tokio v1.0.0".into(), false)
        );
        p.linked("a-linux", 12.34);
        p.cargo_line("   Compiling mcp-sidecar v0.1.0");
        assert_eq!(
            p.message("a-linux").unwrap(),
            ("built in 12.3 s".into(), true)
        );
        assert_eq!(
            p.message("b-darwin").unwrap().0,
            "Compiling mcp-sidecar v0.1.0"
        );
        p.finish(false);
        assert!(p.message("b-darwin").unwrap().1);
    }
}
