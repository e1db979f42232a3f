//! The real `portcullis` binary as a child process: started on a config
//! file, its address read from its JSON log, its log lines collected.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

pub struct GatewayProcess {
    pub child: Child,
    pub addr: String,
    lines: Receiver<String>,
    pub logs: Vec<String>,
}

impl GatewayProcess {
    /// Runs `portcullis run --config <config>` with only `env` in its environment.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.arg("run").arg("--config").arg(config).env_clear();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut process = Self {
            child,
            addr: String::new(),
            lines,
            logs: Vec::new(),
        };
        let line = process.wait_for_log("portcullis listening", Duration::from_secs(10));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        process.addr = v["addr"].as_str().unwrap().to_owned();
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Waits (bounded) for a log line containing `needle`; returns it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.logs.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no log line with {needle:?}; got:\n{}",
                    self.logs.join("\n")
                )
            });
            self.logs.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Waits (bounded) for the process to exit; returns whether it exited 0.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends at EOF; take every line it still holds.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.logs.push(line);
                }
                return status.success();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the gateway did not exit in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn all_logs(&mut self) -> String {
        self.logs.extend(self.lines.try_iter());
        self.logs.join("\n")
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
