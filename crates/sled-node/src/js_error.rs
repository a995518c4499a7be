//! Errors become JS errors here, and only here.
//!
//! The facade registers its error classes once per load (`registerErrors`, called by
//! `src/native.ts`), as better-sqlite3 does with `SqliteError`. A core [`Error`] is then
//! built natively as the class of its code, with `code` and its details (`errno`, `kind`,
//! `at`) set, and thrown (sync calls) or handed to the promise (pool tasks). Argument
//! codes (`ERR_*`) go through the facade's own `argError`, so they are the same
//! `TypeError`/`RangeError` the facade throws.
//!
//! The registration is per thread, which in Node is per environment (the main thread
//! or one worker): a napi reference belongs to its environment and may only be used on
//! its thread. When the facade is loaded twice on one thread (a cleared module cache),
//! the last load's classes win. An environment cleanup hook forgets the registration.

use std::cell::RefCell;
use std::ptr;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue, Status};
use napi_derive::napi;
use sled_core::{Code, Error};

/// An error on its way to JS: a core error, or a JS exception (a callback threw, a
/// value could not be created) that passes through unchanged.
pub enum Fail {
    Core(Error),
    Js(napi::Error),
}

pub type Result<T> = std::result::Result<T, Fail>;

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

impl From<napi::Error> for Fail {
    fn from(e: napi::Error) -> Fail {
        Fail::Js(e)
    }
}

/// The registered names, in the order of [`Classes::refs`].
const NAMES: [&str; 10] = [
    "SledError",
    "SledIoError",
    "SledLockedError",
    "SledCorruptionError",
    "SledCollectionNotFoundError",
    "SledUnsupportedError",
    "SledReportableBugError",
    "SledClosedError",
    "SledPanicError",
    "argError",
];
const SLED_ERROR: usize = 0;
const ARG_ERROR: usize = 9;

struct Classes {
    env: sys::napi_env,
    refs: [sys::napi_ref; NAMES.len()],
}

thread_local! {
    static CLASSES: RefCell<Option<Classes>> = const { RefCell::new(None) };
}

/// The class that `code` is built as; `None` for a plain `SledError` with that code.
fn class_of(code: Code) -> Option<usize> {
    Some(match code {
        Code::Io => 1,
        Code::Locked => 2,
        Code::Corruption => 3,
        Code::CollectionNotFound => 4,
        Code::Unsupported => 5,
        Code::ReportableBug => 6,
        Code::Closed => 7,
        Code::Panic => 8,
        _ => return None,
    })
}

/// Registers the facade's error classes and its `argError` builder for this
/// environment; errors of this addon are built from them from now on.
#[napi(
    ts_args_type = "classes: { SledError: Function, SledIoError: Function, SledLockedError: Function, SledCorruptionError: Function, SledCollectionNotFoundError: Function, SledUnsupportedError: Function, SledReportableBugError: Function, SledClosedError: Function, SledPanicError: Function, argError: (code: string, message: string) => Error }"
)]
pub fn register_errors(env: Env, classes: Unknown) -> napi::Result<()> {
    let raw_env = env.raw();
    let object = classes.raw();
    let mut refs = [ptr::null_mut(); NAMES.len()];
    for (slot, name) in refs.iter_mut().zip(NAMES) {
        let mut value = ptr::null_mut();
        let key = std::ffi::CString::new(name).map_err(napi::Error::from)?;
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: plain napi calls on this environment's thread, during a call from JS
        unsafe {
            check(sys::napi_get_named_property(
                raw_env,
                object,
                key.as_ptr(),
                &mut value,
            ))?;
            check(sys::napi_typeof(raw_env, value, &mut kind))?;
        }
        if kind != sys::ValueType::napi_function {
            return Err(napi::Error::new(
                Status::InvalidArg,
                format!("registerErrors: {name} must be a function"),
            ));
        }
        unsafe { check(sys::napi_create_reference(raw_env, value, 1, slot))? };
    }
    let first = CLASSES.with(|c| {
        let old = c.borrow_mut().replace(Classes { env: raw_env, refs });
        if let Some(old) = &old {
            // same environment (same thread): its references can be freed here
            for r in old.refs {
                unsafe { sys::napi_delete_reference(old.env, r) };
            }
        }
        old.is_none()
    });
    if first {
        // the environment frees its references when it goes; only forget them here
        env.add_env_cleanup_hook((), |_| {
            CLASSES.with(|c| c.borrow_mut().take());
        })?;
    }
    Ok(())
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::from(status),
            "registerErrors failed".to_owned(),
        ))
    }
}

/// `err` as a JS value of its registered class, or `None` when this thread registered
/// nothing (the addon loaded without the facade) or a napi call failed.
fn build(env: sys::napi_env, err: &Error) -> Option<sys::napi_value> {
    CLASSES.with(|c| {
        let classes = c.borrow();
        let classes = classes.as_ref().filter(|c| c.env == env)?;
        let get = |i: usize| {
            let mut value = ptr::null_mut();
            let status = unsafe { sys::napi_get_reference_value(env, classes.refs[i], &mut value) };
            (status == sys::Status::napi_ok && !value.is_null()).then_some(value)
        };
        let message = string(env, &err.message)?;
        let code = string(env, err.code.as_str())?;
        let mut out = ptr::null_mut();
        let status = if err.code.is_argument_error() {
            let mut undefined = ptr::null_mut();
            unsafe { sys::napi_get_undefined(env, &mut undefined) };
            let args = [code, message];
            unsafe {
                sys::napi_call_function(env, undefined, get(ARG_ERROR)?, 2, args.as_ptr(), &mut out)
            }
        } else {
            let (class, args, argc) = match class_of(err.code) {
                Some(class) => (class, [message, code], 1),
                None => (SLED_ERROR, [message, code], 2),
            };
            unsafe { sys::napi_new_instance(env, get(class)?, argc, args.as_ptr(), &mut out) }
        };
        if status != sys::Status::napi_ok {
            return None;
        }
        if let Some(errno) = err.errno {
            let mut value = ptr::null_mut();
            unsafe { sys::napi_create_int32(env, errno, &mut value) };
            set(env, out, c"errno", value);
        }
        for (name, text) in [(c"kind", &err.kind), (c"at", &err.at)] {
            if let Some(value) = text.as_deref().and_then(|t| string(env, t)) {
                set(env, out, name, value);
            }
        }
        Some(out)
    })
}

fn string(env: sys::napi_env, text: &str) -> Option<sys::napi_value> {
    let mut value = ptr::null_mut();
    let status = unsafe {
        sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut value)
    };
    (status == sys::Status::napi_ok).then_some(value)
}

fn set(env: sys::napi_env, object: sys::napi_value, name: &std::ffi::CStr, value: sys::napi_value) {
    unsafe { sys::napi_set_named_property(env, object, name.as_ptr(), value) };
}

/// What a JS-facing function returns for `fail`: for a core error, the error is built
/// and thrown here (on this thread's registered environment) and napi-rs, seeing the
/// pending exception, adds nothing.
pub fn throw(fail: Fail) -> napi::Error {
    let err = match fail {
        Fail::Js(e) => return e,
        Fail::Core(err) => err,
    };
    let env = CLASSES.with(|c| c.borrow().as_ref().map(|c| c.env));
    if let Some(value) = env.and_then(|env| build(env, &err).map(|v| (env, v))) {
        let (env, value) = value;
        if unsafe { sys::napi_throw(env, value) } == sys::Status::napi_ok {
            return napi::Error::new(Status::PendingException, err.message);
        }
    }
    unregistered(err)
}

/// `fail` as a value for `env` that napi-rs hands back as it is: a promise's rejection
/// (pool tasks settle on the JS thread) or an error from a value conversion.
pub fn value(env: sys::napi_env, fail: Fail) -> napi::Error {
    let err = match fail {
        Fail::Js(e) => return e,
        Fail::Core(err) => err,
    };
    match build(env, &err) {
        Some(value) => napi::Error::from(unsafe { Unknown::from_raw_unchecked(env, value) }),
        None => unregistered(err),
    }
}

/// `err` as a JS error value for `env`, to hand to JS inside a result (the failed write
/// of a batch of `…Async` calls): its registered class, or without registered classes a
/// plain `Error` whose message starts with the code.
pub fn error_value(env: sys::napi_env, err: &Error) -> napi::Result<sys::napi_value> {
    if let Some(value) = build(env, err) {
        return Ok(value);
    }
    let failed = || napi::Error::new(Status::GenericFailure, err.to_string());
    let message = string(env, &err.to_string()).ok_or_else(failed)?;
    let mut out = ptr::null_mut();
    // SAFETY: plain napi call on the JS thread, with a value of this environment
    let status = unsafe { sys::napi_create_error(env, ptr::null_mut(), message, &mut out) };
    if status != sys::Status::napi_ok {
        return Err(failed());
    }
    Ok(out)
}

/// Without registered classes (the addon used without the facade): a plain `Error`
/// whose message starts with the code.
fn unregistered(err: Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, err.to_string())
}

/// A pool task's outcome as its promise settles: the value, or the error built on the
/// JS thread (`compute` cannot build JS values).
pub fn settle<T, E: Into<Fail>>(env: &Env, outcome: std::result::Result<T, E>) -> napi::Result<T> {
    outcome.map_err(|fail| value(env.raw(), fail.into()))
}
