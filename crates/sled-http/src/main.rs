//! `sled-http <db-dir>`: sled behind a small HTTP server on the loopback interface —
//! the "HTTP wrapper" workaround the benchmark measures. It listens on 127.0.0.1 at a
//! port chosen by the OS and prints `{"port":N}` on stdout; it flushes and exits when
//! its standard input closes, so it never outlives the process that started it.

mod routes;
mod wire;

use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;

/// Request threads: one per core of the benchmark machine, enough for two client workers.
const THREADS: usize = 2;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let path = std::env::args().nth(1).ok_or("usage: sled-http <db-dir>")?;
    let db = sled::Config::new().path(path).open()?;
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0")?);
    let port = server
        .server_addr()
        .to_ip()
        .ok_or("not an IP listener")?
        .port();
    println!("{{\"port\":{port}}}");
    std::io::stdout().flush()?;

    for _ in 0..THREADS {
        let (server, db) = (server.clone(), db.clone());
        thread::spawn(move || {
            while let Ok(request) = server.recv() {
                routes::handle(&db, request);
            }
        });
    }
    // Block until the parent closes our stdin (or dies), then persist and leave.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    db.flush()?;
    Ok(())
}
