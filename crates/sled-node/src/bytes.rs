//! Bytes across the boundary.
//!
//! In: `&[u8]` (any Uint8Array, Buffer included, with its offset; no copy). The
//! facade turns strings into Buffers before the call, so there is one conversion path.
//! Out: values are copied straight from sled's `IVec` into a V8-owned Buffer.
//! External (Rust-owned) buffers would avoid the copy but are freed only by GC
//! finalizers, which lets RSS balloon in tight loops (they did in a measured loop of `get`s).

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName};
use napi::{sys, Error, Result, Status, ValueType};

/// A key (or tree name, or prefix) argument, copied out of JS memory as the argument is
/// converted, before sled reads it. sled reads a key more than once in one call
/// (descending the tree, comparing it with each node's bounds), and the bytes of a view on
/// a SharedArrayBuffer can change between those reads (another thread writes them): sled
/// then fails its own assertions midway and can leave the tree inconsistent on disk. One
/// copy gives sled one key, and a method that takes a `Key` cannot forget to make it.
/// Keys of up to 22 bytes are copied inline, without an allocation. (The fast calls read
/// their key from this thread's scratch buffer, which only the facade writes.) Methods
/// declare it `#[napi(ts_arg_type = "Uint8Array")]`, which is what JS passes.
pub struct Key(sled::IVec);

impl FromNapiValue for Key {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: napi-rs's own conversion of a Uint8Array argument; the borrow ends here
        let bytes = unsafe { <&[u8]>::from_napi_value(env, value)? };
        Ok(Key(sled::IVec::from(bytes)))
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// For sled's methods that take `Into<IVec>`: a clone of the copy, not another copy.
impl From<&Key> for sled::IVec {
    fn from(key: &Key) -> sled::IVec {
        key.0.clone()
    }
}

/// A value read from sled, returned to JS as a Buffer.
pub struct Bytes(pub sled::IVec);

/// An optional value: a Buffer, or `undefined` (not `null`) when absent.
pub struct MaybeBytes(pub Option<sled::IVec>);

fn create_buffer(env: sys::napi_env, data: &[u8]) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    let status = unsafe {
        sys::napi_create_buffer_copy(
            env,
            data.len(),
            data.as_ptr().cast(),
            ptr::null_mut(),
            &mut value,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "could not allocate a Buffer",
        ));
    }
    Ok(value)
}

fn undefined(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    unsafe { sys::napi_get_undefined(env, &mut value) };
    Ok(value)
}

impl ToNapiValue for Bytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        create_buffer(env, &val.0)
    }
}

impl TypeName for Bytes {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for MaybeBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            Some(bytes) => create_buffer(env, &bytes),
            None => undefined(env),
        }
    }
}

impl TypeName for MaybeBytes {
    fn type_name() -> &'static str {
        "Buffer | undefined"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// A `[key, value]` pair, or `undefined`.
pub struct MaybeEntry(pub Option<(sled::IVec, sled::IVec)>);

impl ToNapiValue for MaybeEntry {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let Some((key, value)) = val.0 else {
            return undefined(env);
        };
        let items = [create_buffer(env, &key)?, create_buffer(env, &value)?];
        array(env, &items, "an entry")
    }
}

/// A JS array of `items`; `what` names it in the error when it cannot be allocated.
pub fn array(env: sys::napi_env, items: &[sys::napi_value], what: &str) -> Result<sys::napi_value> {
    let mut array = ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread, with values of this environment
    let mut ok = unsafe { sys::napi_create_array_with_length(env, items.len(), &mut array) }
        == sys::Status::napi_ok;
    for (i, &item) in items.iter().enumerate() {
        ok = ok
            && unsafe { sys::napi_set_element(env, array, i as u32, item) } == sys::Status::napi_ok;
    }
    if !ok {
        return Err(Error::new(
            Status::GenericFailure,
            format!("could not allocate {what}"),
        ));
    }
    Ok(array)
}

impl TypeName for MaybeEntry {
    fn type_name() -> &'static str {
        "[Buffer, Buffer] | undefined"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

/// Several optional values in one Buffer: per value `[len u32][bytes]`, with len
/// `u32::MAX` for an absent one (little-endian). One allocation instead of one per value.
pub struct PackedValues(pub Vec<Option<sled::IVec>>);

impl ToNapiValue for PackedValues {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let size = val
            .0
            .iter()
            .map(|v| 4 + v.as_ref().map_or(0, |v| v.len()))
            .sum::<usize>();
        packed_buffer(env, size, "values", |out| {
            for value in &val.0 {
                match value {
                    Some(v) => {
                        out.len(v);
                        out.put(v);
                    }
                    None => out.put(&u32::MAX.to_le_bytes()),
                }
            }
        })
    }
}

impl TypeName for PackedValues {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// Writes into a Buffer that `packed_buffer` allocated.
pub struct Packer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Packer<'_> {
    pub fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    /// The length of `bytes` as a little-endian u32 (sled keys and values fit in one).
    pub fn len(&mut self, bytes: &[u8]) {
        self.put(&(bytes.len() as u32).to_le_bytes());
    }
}

/// A new Buffer of exactly `size` bytes, filled by `fill` in place: the packed formats
/// (iterator chunks, event chunks, several values) are written once, straight into V8's
/// memory. `fill` must write exactly `size` bytes, as its caller computed them.
pub fn packed_buffer(
    env: sys::napi_env,
    size: usize,
    what: &str,
    fill: impl FnOnce(&mut Packer),
) -> Result<sys::napi_value> {
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    let mut value = ptr::null_mut();
    if unsafe { sys::napi_create_buffer(env, size, &mut data, &mut value) } != sys::Status::napi_ok
    {
        // Node leaves its own plain `Error` (ERR_BUFFER_TOO_LARGE) pending; clear it so
        // the caller gets the typed error below instead
        let mut pending = ptr::null_mut();
        // SAFETY: plain napi call on the JS thread; fails harmlessly when nothing is pending
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut pending) };
        let too_large = sled_core::Error::new(
            sled_core::Code::BufferTooLarge,
            format!("the {what} read ({size} bytes packed) do not fit in one Buffer; read fewer at a time"),
        );
        return Err(crate::js_error::value(env, too_large.into()));
    }
    let out: &mut [u8] = if size == 0 {
        &mut []
    } else {
        // SAFETY: napi_create_buffer returned `size` writable bytes at `data`
        unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), size) }
    };
    fill(&mut Packer { out, at: 0 });
    Ok(value)
}
