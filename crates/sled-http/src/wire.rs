//! The byte formats of the server: hex keys in URLs, and length-prefixed frames
//! (`u32` little-endian length, then the bytes) for bodies that carry several byte
//! strings. A missing value in a `get-many` answer is the length `u32::MAX`.

pub const MISSING: u32 = u32::MAX;

pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

pub fn put_frame(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
        None => out.extend_from_slice(&MISSING.to_le_bytes()),
    }
}

/// Splits a body into its frames; `None` if it is truncated or holds a missing marker.
pub fn frames(mut body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let len = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
        let bytes = body.get(4..4 + usize::try_from(len).ok()?)?;
        out.push(bytes);
        body = &body[4 + bytes.len()..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut body = Vec::new();
        put_frame(&mut body, Some(b"key"));
        put_frame(&mut body, Some(b""));
        assert_eq!(frames(&body), Some(vec![&b"key"[..], &b""[..]]));
        body.pop();
        assert_eq!(frames(&body), None);
    }

    #[test]
    fn hex() {
        assert_eq!(hex_decode("00ff7A"), Some(vec![0, 255, 122]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
