//! Batches cross the boundary as one packed buffer (the facade's `Batch` builds it):
//! per operation `[op u8: 1 insert, 0 remove][key len u32][key]` and, for inserts,
//! `[value len u32][value]`, little-endian. One buffer instead of an array of
//! Buffers keeps a 1,000-operation batch to a single argument conversion.
//!
//! The `…Async` calls of one tick (the facade's `src/batcher.ts`) use the same format
//! with two more ops: `2 get` (a key, no value) and `3 apply`, whose "key" is a packed
//! batch (an `applyAsync`, applied atomically): see [`decode`].

use crate::error::{Code, Error, Result};

fn malformed() -> Error {
    Error::new(
        Code::InvalidArgValue,
        "The argument 'batch' is not a packed sled-node batch",
    )
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(malformed)?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn len(&mut self) -> Result<usize> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    }
}

/// One operation of a packed list, borrowing its key and value from the list.
#[derive(Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Remove(&'a [u8]),
    Insert(&'a [u8], &'a [u8]),
    Get(&'a [u8]),
    /// A packed batch, checked by `decode`.
    Apply(&'a [u8]),
}

/// Decodes a packed list of operations; `calls` allows ops `2` (a get) and `3` (an
/// apply of a packed batch, which is checked too), which a batch does not have. Never
/// panics on malformed input.
pub fn decode(data: &[u8], calls: bool) -> Result<Vec<Op<'_>>> {
    let mut ops = Vec::new();
    let mut reader = Reader { data, at: 0 };
    while reader.at < data.len() {
        let op = reader.take(1)?[0];
        let key_len = reader.len()?;
        let key = reader.take(key_len)?;
        ops.push(match op {
            1 => {
                let value_len = reader.len()?;
                Op::Insert(key, reader.take(value_len)?)
            }
            0 => Op::Remove(key),
            2 if calls => Op::Get(key),
            3 if calls => {
                // a batch holds no gets nor batches, so this nests one level at most
                decode(key, false)?;
                Op::Apply(key)
            }
            _ => return Err(malformed()),
        });
    }
    Ok(ops)
}

/// Decodes a packed batch, with the keys it writes (sled's `Batch` does not show them;
/// a running backup records their pre-images); never panics on malformed input.
pub fn unpack(data: &[u8]) -> Result<(sled::Batch, Vec<Vec<u8>>)> {
    let mut batch = sled::Batch::default();
    let mut keys = Vec::new();
    for op in decode(data, false)? {
        match op {
            Op::Insert(key, value) => {
                keys.push(key.to_vec());
                batch.insert(key, value);
            }
            Op::Remove(key) => {
                keys.push(key.to_vec());
                batch.remove(key);
            }
            // `decode` refuses gets and batches here
            Op::Get(_) | Op::Apply(_) => return Err(malformed()),
        }
    }
    Ok((batch, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_decodes_to_its_operations() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.insert(b"gone", b"x").unwrap();
        let batch = unpack(&[
            1, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v', 0, 4, 0, 0, 0, b'g', b'o', b'n', b'e',
        ])
        .unwrap();
        db.apply_batch(batch.0).unwrap();
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(db.get(b"gone").unwrap(), None);
    }

    #[test]
    fn truncated_and_unknown_ops_are_errors() {
        assert!(unpack(&[]).is_ok());
        assert!(unpack(&[1, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v']).is_ok());
        assert!(unpack(&[0, 1, 0, 0, 0, b'k']).is_ok());
        assert!(unpack(&[1, 1, 0, 0, 0, b'k', 9, 0, 0, 0, b'v']).is_err());
        assert!(unpack(&[2, 0, 0, 0, 0]).is_err());
        assert!(unpack(&[0, 255, 255, 255, 255]).is_err());
        // every truncation of a valid batch is refused, none panics
        let whole = [1, 2, 0, 0, 0, b'k', b'2', 3, 0, 0, 0, b'v', b'a', b'l'];
        for end in 1..whole.len() {
            let err = unpack(&whole[..end]).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgValue);
        }
    }

    #[test]
    fn gets_decode_only_where_allowed() {
        let list = [2, 1, 0, 0, 0, b'k', 1, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v'];
        assert_eq!(
            decode(&list, true).unwrap(),
            vec![Op::Get(b"k"), Op::Insert(b"k", b"v")]
        );
        assert_eq!(
            decode(&list, false).unwrap_err().code,
            Code::InvalidArgValue
        );
        assert!(unpack(&list).is_err());
    }

    #[test]
    fn a_batch_nests_in_a_list_of_calls_only_and_is_checked() {
        let batch = [1, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v'];
        let mut list = vec![3, batch.len() as u8, 0, 0, 0];
        list.extend_from_slice(&batch);
        list.extend_from_slice(&[2, 1, 0, 0, 0, b'k']);
        assert_eq!(
            decode(&list, true).unwrap(),
            vec![Op::Apply(&batch), Op::Get(b"k")]
        );
        assert!(decode(&list, false).is_err());
        assert!(unpack(&list).is_err());
        // a malformed nested batch, or a get or batch inside one, is refused
        for inner in [&[1, 1, 0, 0, 0, b'k', 9][..], &[2, 1, 0, 0, 0, b'k'], &list] {
            let mut outer = vec![3, inner.len() as u8, 0, 0, 0];
            outer.extend_from_slice(inner);
            assert_eq!(
                decode(&outer, true).unwrap_err().code,
                Code::InvalidArgValue
            );
        }
    }
}
