//! Open options: what the facade passes (validated there, with Node-style errors; see
//! docs/api.md "Validation"), their translation to `sled::Config`, and the comparison
//! that decides `SLED_OPTIONS_CONFLICT` when a path that is already open is opened again.
//! The checks here are only those without which sled would panic or misbehave.

use crate::error::{Code, Error, Result};

/// Open options as the facade hands them over. Every field is optional; absent means
/// "sled's default" on a first open and "whatever the open database has" later.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
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

/// The settings sled keeps in a database's `conf` file, which every reopen must repeat.
#[derive(Debug, Default, PartialEq)]
pub struct Stored {
    pub segment_size: Option<usize>,
    pub use_compression: Option<bool>,
}

impl Stored {
    /// Reads sled's `conf` text (`segment_size: 524288\nuse_compression: false\n…`);
    /// lines it does not know are ignored.
    pub fn parse(text: &str) -> Stored {
        let mut stored = Stored::default();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("segment_size: ") {
                stored.segment_size = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("use_compression: ") {
                stored.use_compression = v.trim().parse().ok();
            }
        }
        stored
    }
}

/// The effective sled settings of an open database, kept to detect conflicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    cache_capacity: u64,
    mode: String,
    flush_every_ms: Option<u64>,
    temporary: bool,
    compression: bool,
    compression_factor: i32,
    segment_size: usize,
    idgen_persist_interval: u64,
    print_profile_on_drop: bool,
}

impl Default for Settings {
    /// sled 0.34.7's own defaults (config.rs).
    fn default() -> Self {
        Settings {
            cache_capacity: 1024 * 1024 * 1024,
            mode: "lowSpace".into(),
            flush_every_ms: Some(500),
            temporary: false,
            compression: false,
            compression_factor: 5,
            segment_size: 512 * 1024,
            idgen_persist_interval: 1_000_000,
            print_profile_on_drop: false,
        }
    }
}

/// Converts a JS number to an integer, refusing what would wrap or truncate.
fn integer(name: &str, value: f64, min: f64) -> Result<u64> {
    if !value.is_finite() || value.fract() != 0.0 || value < min || value > 2f64.powi(53) {
        return Err(Error::new(
            Code::OutOfRange,
            format!("The value of \"{name}\" is out of range. It must be an integer >= {min}. Received {value}"),
        ));
    }
    Ok(value as u64)
}

impl Settings {
    /// The settings a first open with `opts` would use.
    pub fn from_options(opts: &OpenOptions) -> Result<Settings> {
        let mut s = Settings::default();
        if let Some(v) = opts.cache_capacity {
            // sled panics below 256; this check keeps the native layer panic-free
            // even when called without the facade
            s.cache_capacity = integer("cacheCapacity", v, 256.0)?;
        }
        if let Some(v) = &opts.mode {
            if v != "lowSpace" && v != "highThroughput" {
                return Err(Error::new(
                    Code::InvalidArgValue,
                    format!("The property 'mode' must be 'lowSpace' or 'highThroughput'. Received {v:?}"),
                ));
            }
            s.mode = v.clone();
        }
        if let Some(v) = opts.flush_every_ms {
            let ms = integer("flushEveryMs", v, 0.0)?;
            s.flush_every_ms = if ms == 0 { None } else { Some(ms) };
        }
        if let Some(v) = opts.temporary {
            s.temporary = v;
        }
        if let Some(v) = opts.compression {
            s.compression = v;
        }
        if let Some(v) = opts.compression_factor {
            s.compression_factor = v;
        }
        if let Some(v) = opts.segment_size {
            // sled asserts a power of two (a panic at open); the facade gives the
            // Node-style error first, this keeps the core panic-free on its own
            let size = integer("segmentSize", v, 256.0)?;
            if !size.is_power_of_two() || size > 1 << 24 {
                return Err(Error::new(
                    Code::OutOfRange,
                    format!("The value of \"segmentSize\" is out of range. It must be a power of two from 256 to 16777216. Received {v}"),
                ));
            }
            s.segment_size = size as usize;
        }
        if let Some(v) = opts.idgen_persist_interval {
            s.idgen_persist_interval = integer("idgenPersistInterval", v, 1.0)?;
        }
        if let Some(v) = opts.print_profile_on_drop {
            s.print_profile_on_drop = v;
        }
        Ok(s)
    }

    /// Names the options given in `opts` (whose settings are `wanted`, from
    /// [`Settings::from_options`]) that disagree with these (open) settings.
    pub fn conflicts(&self, wanted: &Settings, opts: &OpenOptions) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut check = |given: bool, same: bool, name: &'static str| {
            if given && !same {
                out.push(name);
            }
        };
        check(
            opts.cache_capacity.is_some(),
            wanted.cache_capacity == self.cache_capacity,
            "cacheCapacity",
        );
        check(opts.mode.is_some(), wanted.mode == self.mode, "mode");
        check(
            opts.flush_every_ms.is_some(),
            wanted.flush_every_ms == self.flush_every_ms,
            "flushEveryMs",
        );
        check(
            opts.temporary.is_some(),
            wanted.temporary == self.temporary,
            "temporary",
        );
        check(
            opts.compression.is_some(),
            wanted.compression == self.compression,
            "compression",
        );
        // `compression: true` (or `{}`) gives the factor too: the default, 5
        check(
            opts.compression_factor.is_some() || opts.compression == Some(true),
            wanted.compression_factor == self.compression_factor,
            "compression.factor",
        );
        check(
            opts.segment_size.is_some(),
            wanted.segment_size == self.segment_size,
            "segmentSize",
        );
        check(
            opts.idgen_persist_interval.is_some(),
            wanted.idgen_persist_interval == self.idgen_persist_interval,
            "idgenPersistInterval",
        );
        check(
            opts.print_profile_on_drop.is_some(),
            wanted.print_profile_on_drop == self.print_profile_on_drop,
            "printProfileOnDrop",
        );
        out
    }

    /// These settings with the stored ones wherever `opts` is silent: an existing database
    /// reopens with the segment size and compression it was created with, which sled
    /// requires, instead of failing on options the caller never gave.
    pub fn inherit(mut self, stored: &Stored, opts: &OpenOptions) -> Settings {
        if opts.segment_size.is_none() {
            if let Some(v) = stored.segment_size {
                self.segment_size = v;
            }
        }
        if opts.compression.is_none() {
            if let Some(v) = stored.use_compression {
                self.compression = v;
            }
        }
        self
    }

    pub fn to_config(&self, path: &std::path::Path, create_new: bool) -> sled::Config {
        let mode = if self.mode == "highThroughput" {
            sled::Mode::HighThroughput
        } else {
            sled::Mode::LowSpace
        };
        sled::Config::new()
            .path(path)
            .cache_capacity(self.cache_capacity)
            .mode(mode)
            .flush_every_ms(self.flush_every_ms)
            .temporary(self.temporary)
            .create_new(create_new)
            .use_compression(self.compression)
            .compression_factor(self.compression_factor)
            .segment_size(self.segment_size)
            .idgen_persist_interval(self.idgen_persist_interval)
            .print_profile_on_drop(self.print_profile_on_drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_settings_fill_only_what_was_not_given() {
        let stored = Stored::parse("segment_size: 65536\nuse_compression: true\nversion: 0.34\n");
        assert_eq!(
            stored,
            Stored {
                segment_size: Some(65536),
                use_compression: Some(true)
            }
        );
        let silent = Settings::default().inherit(&stored, &OpenOptions::default());
        assert_eq!(silent.segment_size, 65536);
        assert!(silent.compression);
        let given = OpenOptions {
            compression: Some(false),
            ..Default::default()
        };
        let explicit = Settings::from_options(&given)
            .unwrap()
            .inherit(&stored, &given);
        assert!(!explicit.compression);
        assert_eq!(Stored::parse("garbage"), Stored::default());
    }

    #[test]
    fn only_given_options_conflict() {
        let open = Settings::from_options(&OpenOptions {
            cache_capacity: Some(4096.0),
            ..Default::default()
        })
        .unwrap();
        let same = OpenOptions {
            cache_capacity: Some(4096.0),
            ..Default::default()
        };
        let conflicts =
            |opts: &OpenOptions| open.conflicts(&Settings::from_options(opts).unwrap(), opts);
        assert!(conflicts(&same).is_empty());
        assert!(conflicts(&OpenOptions::default()).is_empty());
        let other = OpenOptions {
            cache_capacity: Some(8192.0),
            flush_every_ms: Some(0.0),
            ..Default::default()
        };
        assert_eq!(conflicts(&other), vec!["cacheCapacity", "flushEveryMs"]);
        // every option given with a different value is named, in a stable order
        let all = OpenOptions {
            cache_capacity: Some(1024.0),
            mode: Some("highThroughput".into()),
            flush_every_ms: Some(7.0),
            temporary: Some(true),
            compression: Some(true),
            compression_factor: Some(9),
            segment_size: Some(1024.0),
            idgen_persist_interval: Some(3.0),
            print_profile_on_drop: Some(true),
            create_new: None,
        };
        assert_eq!(conflicts(&all).len(), 9);
    }

    #[test]
    fn compression_without_a_factor_means_factor_5_when_joining() {
        let open_with = |factor| {
            Settings::from_options(&OpenOptions {
                compression: Some(true),
                compression_factor: factor,
                ..Default::default()
            })
            .unwrap()
        };
        let conflicts = |open: &Settings, opts: &OpenOptions| {
            open.conflicts(&Settings::from_options(opts).unwrap(), opts)
        };
        let plain = OpenOptions {
            compression: Some(true),
            ..Default::default()
        };
        assert_eq!(
            conflicts(&open_with(Some(3)), &plain),
            vec!["compression.factor"]
        );
        assert!(conflicts(&open_with(Some(5)), &plain).is_empty());
        assert!(conflicts(&open_with(None), &plain).is_empty());
        // silent about compression: nothing to compare
        assert!(conflicts(&open_with(Some(3)), &OpenOptions::default()).is_empty());
    }

    #[test]
    fn cache_below_256_is_refused_not_a_panic() {
        let opts = OpenOptions {
            cache_capacity: Some(255.0),
            ..Default::default()
        };
        assert!(Settings::from_options(&opts).is_err());
        let opts = OpenOptions {
            cache_capacity: Some(1.5e3 + 0.5),
            ..Default::default()
        };
        assert!(Settings::from_options(&opts).is_err());
        let opts = OpenOptions {
            mode: Some("fast".into()),
            ..Default::default()
        };
        let err = Settings::from_options(&opts).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgValue);
        for bad in [1000.0, 3.0 * 256.0, (1u64 << 25) as f64] {
            let opts = OpenOptions {
                segment_size: Some(bad),
                ..Default::default()
            };
            let err = Settings::from_options(&opts).unwrap_err();
            assert_eq!(err.code, Code::OutOfRange, "{bad}");
        }
        let opts = OpenOptions {
            segment_size: Some(1024.0),
            ..Default::default()
        };
        assert_eq!(Settings::from_options(&opts).unwrap().segment_size, 1024);
    }
}
