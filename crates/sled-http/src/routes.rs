//! One request in, one response out. Routes (keys are hex in the path):
//! `GET|PUT|DELETE /k/<key>`; `POST /batch` (frames k,v,k,v… applied atomically);
//! `POST /get-many` (frames of keys -> frames of values); `GET /range?gte=<key>|gt=<key>&limit=<n>`
//! (frames k,v,k,v… in key order).

use tiny_http::{Method, Request, Response};

use crate::wire::{frames, hex_decode, put_frame};

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn status(code: u16, message: &str) -> Reply {
    Response::from_string(message).with_status_code(code)
}

fn body(request: &mut Request) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    request.as_reader().read_to_end(&mut out)?;
    Ok(out)
}

fn range(db: &sled::Db, query: &str) -> sled::Result<Reply> {
    let mut start = std::ops::Bound::Unbounded;
    let mut limit = usize::MAX;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("gte", k)) => start = hex_decode(k).map_or(start, std::ops::Bound::Included),
            Some(("gt", k)) => start = hex_decode(k).map_or(start, std::ops::Bound::Excluded),
            Some(("limit", n)) => limit = n.parse().unwrap_or(limit),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for entry in db
        .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
        .take(limit)
    {
        let (k, v) = entry?;
        put_frame(&mut out, Some(&k));
        put_frame(&mut out, Some(&v));
    }
    Ok(Response::from_data(out))
}

fn route(db: &sled::Db, request: &mut Request) -> Result<Reply, Box<dyn std::error::Error>> {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if let Some(hex) = path.strip_prefix("/k/") {
        let Some(key) = hex_decode(hex) else {
            return Ok(status(400, "bad key"));
        };
        return Ok(match request.method() {
            Method::Get => match db.get(key)? {
                Some(v) => Response::from_data(v.to_vec()),
                None => status(404, ""),
            },
            Method::Put => {
                db.insert(key, body(request)?)?;
                status(204, "")
            }
            Method::Delete => match db.remove(key)? {
                Some(_) => status(204, ""),
                None => status(404, ""),
            },
            _ => status(405, ""),
        });
    }
    Ok(match (request.method(), path) {
        (Method::Post, "/batch") => {
            let data = body(request)?;
            let Some(parts) = frames(&data).filter(|p| p.len().is_multiple_of(2)) else {
                return Ok(status(400, "bad frames"));
            };
            let mut batch = sled::Batch::default();
            for kv in parts.chunks(2) {
                batch.insert(kv[0], kv[1]);
            }
            db.apply_batch(batch)?;
            status(204, "")
        }
        (Method::Post, "/get-many") => {
            let data = body(request)?;
            let Some(keys) = frames(&data) else {
                return Ok(status(400, "bad frames"));
            };
            let mut out = Vec::new();
            for key in keys {
                put_frame(&mut out, db.get(key)?.as_deref());
            }
            Response::from_data(out)
        }
        (Method::Get, "/range") => range(db, query)?,
        _ => status(404, "no such route"),
    })
}

/// Answers one request; a database error becomes a 500 with its message.
pub fn handle(db: &sled::Db, mut request: Request) {
    let reply = route(db, &mut request).unwrap_or_else(|e| status(500, &e.to_string()));
    // the client may have gone away; nothing to do about it here
    let _ = request.respond(reply);
}
