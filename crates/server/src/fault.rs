//! The errors the service layer returns: one enum per area, all of the
//! same shape (made by [`area_error!`]), named for what went wrong rather
//! than for an HTTP status. The adapters turn them into problem details or
//! pages (`error.rs`).

/// Declares an area's error enum.
#[macro_export]
macro_rules! area_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            /// The request is wrong: a missing field, a bad value, an
            /// unknown reference.
            #[error("{0}")]
            Invalid(String),
            /// What the request names does not exist (or is not theirs to see).
            #[error("{0}")]
            NotFound(String),
            /// The request is fine, but the record's state does not allow it.
            #[error("{0}")]
            Conflict(String),
            /// The caller may not do this.
            #[error("{0}")]
            Forbidden(String),
            /// Something the change needs does not answer just now.
            #[error("{0}")]
            Unavailable(String),
            #[error(transparent)]
            Store(#[from] liveops_store::StoreError),
            #[error(transparent)]
            Telemetry(#[from] liveops_telemetry::TelemetryError),
            /// A fault of liveops itself.
            #[error("{0}")]
            Internal(String),
        }

        impl $name {
            pub fn invalid(m: impl Into<String>) -> Self {
                Self::Invalid(m.into())
            }
            pub fn not_found(m: impl Into<String>) -> Self {
                Self::NotFound(m.into())
            }
            pub fn conflict(m: impl Into<String>) -> Self {
                Self::Conflict(m.into())
            }
            pub fn forbidden(m: impl Into<String>) -> Self {
                Self::Forbidden(m.into())
            }
            pub fn internal(e: impl std::fmt::Display) -> Self {
                Self::Internal(e.to_string())
            }
        }

        impl From<sqlx::Error> for $name {
            fn from(e: sqlx::Error) -> Self {
                Self::Store(e.into())
            }
        }

        impl From<tokio::task::JoinError> for $name {
            fn from(e: tokio::task::JoinError) -> Self {
                Self::Internal(e.to_string())
            }
        }
    };
}

/// Lets one area's service return another's errors as its own.
#[macro_export]
macro_rules! area_error_from {
    ($from:path => $to:ident) => {
        impl From<$from> for $to {
            fn from(e: $from) -> $to {
                use $from as F;
                match e {
                    F::Invalid(m) => $to::Invalid(m),
                    F::NotFound(m) => $to::NotFound(m),
                    F::Conflict(m) => $to::Conflict(m),
                    F::Forbidden(m) => $to::Forbidden(m),
                    F::Unavailable(m) => $to::Unavailable(m),
                    F::Store(e) => $to::Store(e),
                    F::Telemetry(e) => $to::Telemetry(e),
                    F::Internal(m) => $to::Internal(m),
                }
            }
        }
    };
}
