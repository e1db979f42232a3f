//! A private `redis-server` for tests that share state through Redis.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A private redis-server on a free loopback port, killed on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> Self {
        // A free port can be taken between probing and binding: try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is required for these tests (apt-get install redis-server; .ci/run installs it)");
            // Owned from here on, so it is killed and reaped even if startup fails.
            let mut server = Self { child, port };
            for _ in 0..100 {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: most likely the port was taken
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            server.stop();
        }
        panic!("redis-server did not start");
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
