//! The one error type of the core: a stable code, a message, and the details some
//! codes carry. The napi crate turns it into the JS class registered for its code
//! (`crates/sled-node/src/js_error.rs`); nothing here knows about JS.

/// The codes of docs/api.md's error tables (sled-node's own and Node's argument codes).
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

    /// Node's argument-error codes (a `TypeError`/`RangeError`, not a `SledError`).
    pub fn is_argument_error(self) -> bool {
        self.as_str().starts_with("ERR_")
    }
}

/// A failure with its stable code. `errno`, `kind` and `at` become properties of the
/// JS error (docs/api.md: `SledIoError.errno`/`kind`, `SledCorruptionError.at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    pub errno: Option<i32>,
    pub kind: Option<String>,
    pub at: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            errno: None,
            kind: None,
            at: None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// `op` names the operation, `subject` the path or tree it ran on.
pub fn from_sled(op: &str, subject: &str, err: sled::Error) -> Error {
    match err {
        sled::Error::Io(io) => from_io(op, subject, &io),
        sled::Error::Corruption { at, .. } => Error {
            at: at.map(|ptr| format!("{ptr:?}")),
            ..Error::new(
                Code::Corruption,
                format!("{op} on {subject}: corruption detected in the storage files"),
            )
        },
        sled::Error::CollectionNotFound(name) => Error::new(
            Code::CollectionNotFound,
            format!(
                "{op} on {subject}: tree {:?} does not exist (it was dropped)",
                String::from_utf8_lossy(&name)
            ),
        ),
        sled::Error::Unsupported(msg) => {
            Error::new(Code::Unsupported, format!("{op} on {subject}: {msg}"))
        }
        sled::Error::ReportableBug(msg) => Error::new(
            Code::ReportableBug,
            format!("{op} on {subject}: sled reported a bug: {msg}"),
        ),
    }
}

pub fn from_io(op: &str, subject: &str, io: &std::io::Error) -> Error {
    let text = io.to_string();
    // sled reports its flock failure as a plain `Io(Other)` whose text carries this phrase
    if text.contains("could not acquire lock") {
        // the flock error is wrapped in text; its OS error (EWOULDBLOCK) is in the text only
        let errno = os_code_in(&text);
        let kind = match errno {
            Some(errno) => std::io::Error::from_raw_os_error(errno).kind(),
            None => io.kind(),
        };
        return Error {
            errno,
            kind: Some(format!("{kind:?}")),
            ..Error::new(
                Code::Locked,
                format!("{op} on {subject}: the database is locked by another process ({text})"),
            )
        };
    }
    Error {
        errno: io.raw_os_error(),
        kind: Some(format!("{:?}", io.kind())),
        ..Error::new(Code::Io, format!("{op} on {subject}: {text}"))
    }
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

/// The one closed-handle message: `<op> on <subject>: the handle is closed`.
pub fn closed(op: &str, subject: &str) -> Error {
    Error::new(
        Code::Closed,
        format!("{op} on {subject}: the handle is closed"),
    )
}

pub fn dropped(op: &str, subject: &str) -> Error {
    Error::new(
        Code::CollectionNotFound,
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

    #[test]
    fn io_errors_carry_kind_and_errno() {
        let e = from_io("open", "/p", &std::io::Error::from_raw_os_error(2));
        assert_eq!(e.code, Code::Io);
        assert_eq!(e.errno, Some(2));
        assert_eq!(e.kind.as_deref(), Some("NotFound"));
        assert!(e.message.starts_with("open on /p: "), "{}", e.message);
    }

    #[test]
    fn a_lock_failure_is_locked_with_the_errno_of_its_text() {
        let io = std::io::Error::other(
            "could not acquire lock on \"/p/db\": Os { code: 11, kind: WouldBlock, message: \"x\" }",
        );
        let e = from_io("open", "/p", &io);
        assert_eq!(e.code, Code::Locked);
        assert_eq!(e.errno, Some(11));
        assert_eq!(e.kind.as_deref(), Some("WouldBlock"));
    }

    #[test]
    fn corruption_carries_where() {
        let e = from_sled("get", "t", sled::Error::Corruption { at: None, bt: () });
        assert_eq!((e.code, e.at), (Code::Corruption, None));
        assert_eq!(closed("get", "t").message, "get on t: the handle is closed");
        assert!(Code::OutOfRange.is_argument_error() && !Code::Closed.is_argument_error());
    }
}
