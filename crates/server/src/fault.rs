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
            /// The caller did not say who they are, or said it wrongly.
            #[error("{0}")]
            Unauthorized(String),
            /// The caller asked too often; they may try again after the
            /// seconds given.
            #[error("{0}")]
            Limited(String, u64),
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
            pub fn unauthorized(m: impl Into<String>) -> Self {
                Self::Unauthorized(m.into())
            }
            pub fn limited(m: impl Into<String>, retry_after_secs: u64) -> Self {
                Self::Limited(m.into(), retry_after_secs)
            }
            /// Whether the caller is at fault rather than liveops or what
            /// it depends on.
            pub fn is_client_error(&self) -> bool {
                match self {
                    Self::Store(e) => matches!(
                        e,
                        liveops_store::StoreError::NotFound | liveops_store::StoreError::Conflict(_)
                    ),
                    Self::Telemetry(e) => matches!(e, liveops_telemetry::TelemetryError::Query(_)),
                    Self::Unavailable(_) | Self::Internal(_) => false,
                    _ => true,
                }
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

        /// As problem details.
        impl From<$name> for $crate::error::ApiError {
            fn from(e: $name) -> $crate::error::ApiError {
                use $crate::error::ApiError;
                match e {
                    $name::Invalid(m) => ApiError::unprocessable(m),
                    $name::NotFound(m) => ApiError::not_found(m),
                    $name::Conflict(m) => ApiError::conflict(m),
                    $name::Forbidden(m) => ApiError::forbidden(m),
                    $name::Unavailable(m) => ApiError::unavailable(m, 5),
                    $name::Unauthorized(m) => ApiError::unauthorized(m),
                    $name::Limited(m, s) => ApiError::too_many(m, s),
                    $name::Store(e) => e.into(),
                    $name::Telemetry(e) => e.into(),
                    $name::Internal(m) => ApiError::internal(m),
                }
            }
        }

        /// The shared helpers that still answer with problem details
        /// (time ranges, access), taken back by kind.
        impl From<$crate::error::ApiError> for $name {
            fn from(e: $crate::error::ApiError) -> $name {
                use axum::http::StatusCode;
                let m = e.detail().unwrap_or("").to_owned();
                match e.status() {
                    StatusCode::NOT_FOUND => $name::NotFound(m),
                    StatusCode::CONFLICT => $name::Conflict(m),
                    StatusCode::FORBIDDEN => $name::Forbidden(m),
                    StatusCode::SERVICE_UNAVAILABLE => $name::Unavailable(m),
                    StatusCode::UNAUTHORIZED => $name::Unauthorized(m),
                    StatusCode::TOO_MANY_REQUESTS => {
                        $name::Limited(m, e.retry_after().unwrap_or(1))
                    }
                    s if s.is_client_error() => $name::Invalid(m),
                    _ => $name::Internal(m),
                }
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
                    F::Unauthorized(m) => $to::Unauthorized(m),
                    F::Limited(m, s) => $to::Limited(m, s),
                    F::Store(e) => $to::Store(e),
                    F::Telemetry(e) => $to::Telemetry(e),
                    F::Internal(m) => $to::Internal(m),
                }
            }
        }
    };
}
