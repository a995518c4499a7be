//! The one place where failures become JS errors.
//!
//! Every native error carries a stable code in its message, in the form
//! `[CODE key=value …] message`; the facade (`src/errors.ts`) parses that prefix
//! and builds the matching error class. Keeping the format here and the parser
//! there means one mapping path in each language and no per-method mapping code.

use napi::{Error, Status};

/// The codes of `API.md`'s error table plus Node's argument-error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Io,
    Locked,
    Corruption,
    CollectionNotFound,
    Unsupported,
    ReportableBug,
    Closed,
    Panic,
    TransactionMisuse,
    TransactionConflict,
    OptionsConflict,
    SubscriberOverflow,
    InvalidArgValue,
    OutOfRange,
    BufferTooLarge,
    /// A cancelled operation (the facade throws Node's `AbortError`).
    Aborted,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "SLED_IO",
            Code::Locked => "SLED_LOCKED",
            Code::Corruption => "SLED_CORRUPTION",
            Code::CollectionNotFound => "SLED_COLLECTION_NOT_FOUND",
            Code::Unsupported => "SLED_UNSUPPORTED",
            Code::ReportableBug => "SLED_REPORTABLE_BUG",
            Code::Closed => "SLED_CLOSED",
            Code::Panic => "SLED_PANIC",
            Code::TransactionMisuse => "SLED_TRANSACTION_MISUSE",
            Code::TransactionConflict => "SLED_TRANSACTION_CONFLICT",
            Code::OptionsConflict => "SLED_OPTIONS_CONFLICT",
            Code::SubscriberOverflow => "SLED_SUBSCRIBER_OVERFLOW",
            Code::InvalidArgValue => "ERR_INVALID_ARG_VALUE",
            Code::OutOfRange => "ERR_OUT_OF_RANGE",
            Code::BufferTooLarge => "ERR_BUFFER_TOO_LARGE",
            Code::Aborted => "ABORT_ERR",
        }
    }
}

/// Builds the napi error for `code`, with optional `key=value` details.
pub fn coded(code: Code, details: &[(&str, String)], message: impl AsRef<str>) -> Error {
    let mut prefix = String::from(code.as_str());
    for (key, value) in details {
        prefix.push(' ');
        prefix.push_str(key);
        prefix.push('=');
        // values never contain spaces or `]`, so the prefix stays parseable
        prefix.push_str(&value.replace([' ', ']'], "_"));
    }
    Error::new(
        Status::GenericFailure,
        format!("[{prefix}] {}", message.as_ref()),
    )
}

/// `op` names the operation, `subject` the path or tree it ran on.
pub fn from_sled(op: &str, subject: &str, err: sled::Error) -> Error {
    match err {
        sled::Error::Io(io) => from_io(op, subject, &io),
        sled::Error::Corruption { at, .. } => {
            let details = match at {
                Some(ptr) => vec![("at", format!("{ptr:?}"))],
                None => vec![],
            };
            coded(
                Code::Corruption,
                &details,
                format!("{op} on {subject}: corruption detected in the storage files"),
            )
        }
        sled::Error::CollectionNotFound(name) => coded(
            Code::CollectionNotFound,
            &[],
            format!(
                "{op} on {subject}: tree {:?} does not exist (it was dropped)",
                String::from_utf8_lossy(&name)
            ),
        ),
        sled::Error::Unsupported(msg) => {
            coded(Code::Unsupported, &[], format!("{op} on {subject}: {msg}"))
        }
        sled::Error::ReportableBug(msg) => coded(
            Code::ReportableBug,
            &[],
            format!("{op} on {subject}: sled reported a bug: {msg}"),
        ),
    }
}

pub fn from_io(op: &str, subject: &str, io: &std::io::Error) -> Error {
    let text = io.to_string();
    // sled reports its flock failure as a plain `Io(Other)` whose text carries this phrase
    let code = if text.contains("could not acquire lock") {
        Code::Locked
    } else {
        Code::Io
    };
    let mut details = Vec::new();
    if code == Code::Locked {
        // the flock error is wrapped in text; its OS error (EWOULDBLOCK) is in the text only
        match os_code_in(&text) {
            Some(errno) => {
                let kind = std::io::Error::from_raw_os_error(errno).kind();
                details.push(("kind", format!("{kind:?}")));
                details.push(("errno", errno.to_string()));
            }
            None => details.push(("kind", format!("{:?}", io.kind()))),
        }
    } else {
        details.push(("kind", format!("{:?}", io.kind())));
        if let Some(errno) = io.raw_os_error() {
            details.push(("errno", errno.to_string()));
        }
    }
    let message = if code == Code::Locked {
        format!("{op} on {subject}: the database is locked by another process ({text})")
    } else {
        format!("{op} on {subject}: {text}")
    };
    coded(code, &details, message)
}

/// The OS error number in the `Debug` text of an `io::Error` (`Os { code: 11, … }`): the
/// last such text, since the path before it may contain anything.
fn os_code_in(text: &str) -> Option<i32> {
    let start = text.rfind("Os { code: ")? + "Os { code: ".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

pub fn closed(op: &str, subject: &str) -> Error {
    coded(
        Code::Closed,
        &[],
        format!("{op} on {subject}: the handle is closed"),
    )
}

pub fn dropped(op: &str, subject: &str) -> Error {
    coded(
        Code::CollectionNotFound,
        &[],
        format!("{op} on {subject}: the tree was dropped"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_code_is_read_from_wrapped_io_text() {
        let text = "could not acquire lock on \"/x/db\": Os { code: 11, kind: WouldBlock, message: \"Resource temporarily unavailable\" }";
        assert_eq!(os_code_in(text), Some(11));
        assert_eq!(os_code_in("no code here"), None);
        let tricky = "could not acquire lock on \"/tmp/Os { code: 5, x/db\": Os { code: 11, kind: WouldBlock, message: \"x\" }";
        assert_eq!(os_code_in(tricky), Some(11));
    }
}
