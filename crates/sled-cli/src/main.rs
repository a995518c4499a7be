//! `sled-cli <db-dir> <command> [hex-key]`: opens the database, does exactly one
//! operation, flushes and exits — the "CLI + subprocess" workaround the benchmark
//! measures, spawned once per call. Commands:
//! - `get <key>`: the value's raw bytes on stdout; exit 3 if the key is absent
//! - `put <key>`: stores stdin's bytes as the value
//! - `del <key>`: exit 3 if the key was absent
//! - `batch`: stdin holds frames (u32 LE length + bytes) k,v,k,v…, applied as one atomic batch
//! - `load`: like `batch` but committed every 1000 entries (the harness's untimed setup)

use std::io::{Read, Write};
use std::process::ExitCode;

const ABSENT: u8 = 3;

fn hex_decode(s: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex key {s}"));
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("bad hex key {s}"))
}

fn stdin_bytes() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::io::stdin().read_to_end(&mut out)?;
    Ok(out)
}

/// Applies the k,v frames of stdin in batches of `chunk` entries.
fn apply_frames(db: &sled::Db, chunk: usize) -> Result<(), Box<dyn std::error::Error>> {
    let data = stdin_bytes()?;
    let mut rest = &data[..];
    let mut next = || -> Result<Option<&[u8]>, String> {
        if rest.is_empty() {
            return Ok(None);
        }
        let len = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("truncated frame")?;
        let bytes = rest.get(4..4 + len).ok_or("truncated frame")?;
        rest = &rest[4 + len..];
        Ok(Some(bytes))
    };
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    while let Some(k) = next()? {
        let v = next()?.ok_or("a key without a value")?;
        batch.insert(k, v);
        pending += 1;
        if pending == chunk {
            db.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    db.apply_batch(batch)?;
    Ok(())
}

fn run(argv: &[String]) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (Some(path), Some(command)) = (argv.first(), argv.get(1)) else {
        return Err("usage: sled-cli <db-dir> get|put|del <hex-key> | batch | load".into());
    };
    let key = || -> Result<Vec<u8>, String> { hex_decode(argv.get(2).ok_or("missing key")?) };
    let db = sled::Config::new().path(path).open()?;
    let found = match command.as_str() {
        "get" => match db.get(key()?)? {
            Some(v) => {
                std::io::stdout().write_all(&v)?;
                true
            }
            None => false,
        },
        "put" => {
            db.insert(key()?, stdin_bytes()?)?;
            true
        }
        "del" => db.remove(key()?)?.is_some(),
        "batch" => {
            apply_frames(&db, usize::MAX)?;
            true
        }
        "load" => {
            apply_frames(&db, 1000)?;
            true
        }
        other => return Err(format!("unknown command {other}").into()),
    };
    // a process per operation must persist before it exits, or the write is lost
    db.flush()?;
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(ABSENT)
    })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    run(&argv).unwrap_or_else(|e| {
        eprintln!("sled-cli: {e}");
        ExitCode::FAILURE
    })
}
