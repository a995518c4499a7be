//! `sled-http <db-dir>`: sled behind a small HTTP server on the loopback interface —
//! the "HTTP wrapper" workaround the benchmark measures. It listens on 127.0.0.1 at a
//! port chosen by the OS and prints `{"port":N}` on stdout; it flushes and exits when
//! its standard input closes, so it never outlives the process that started it.

mod routes;
mod wire;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use socket2::{Domain, Socket, Type};

/// Request threads: one per core of the benchmark machine, enough for two client workers.
const THREADS: usize = 2;

/// A listener on 127.0.0.1 at a port the OS picks, with TCP_NODELAY, which Linux copies to
/// every accepted connection: tiny_http writes a response's head and body separately, and
/// with Nagle on, the body would wait for the client's delayed ACK (~40 ms per response).
fn listen_loopback() -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_nodelay(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let path = std::env::args().nth(1).ok_or("usage: sled-http <db-dir>")?;
    let db = sled::Config::new().path(path).open()?;
    let listener = listen_loopback()?;
    let port = listener.local_addr()?.port();
    let server = Arc::new(tiny_http::Server::from_listener(listener, None)?);
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
