//! The open options object the facade passes (validated there, see docs/api.md
//! "Validation"); `sled_core::settings` turns it into sled's configuration.

use napi_derive::napi;
use sled_core::settings::OpenOptions;

/// Options as the facade hands them over. Every field is optional; absent means
/// "sled's default" on a first open and "whatever the open database has" later.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct NativeOpenOptions {
    /// Cache size in bytes (sled default 1 GiB, at least 256).
    pub cache_capacity: Option<f64>,
    /// `"lowSpace"` or `"highThroughput"` (accepted, but sled 0.34.7 never reads it).
    pub mode: Option<String>,
    /// Background flush interval in ms; `0` turns the background flush off.
    pub flush_every_ms: Option<f64>,
    pub temporary: Option<bool>,
    pub create_new: Option<bool>,
    pub compression: Option<bool>,
    pub compression_factor: Option<i32>,
    pub segment_size: Option<f64>,
    pub idgen_persist_interval: Option<f64>,
    pub print_profile_on_drop: Option<bool>,
}

impl From<NativeOpenOptions> for OpenOptions {
    fn from(o: NativeOpenOptions) -> OpenOptions {
        OpenOptions {
            cache_capacity: o.cache_capacity,
            mode: o.mode,
            flush_every_ms: o.flush_every_ms,
            temporary: o.temporary,
            create_new: o.create_new,
            compression: o.compression,
            compression_factor: o.compression_factor,
            segment_size: o.segment_size,
            idgen_persist_interval: o.idgen_persist_interval,
            print_profile_on_drop: o.print_profile_on_drop,
        }
    }
}
