//! The one error type of the HTTP layer. Every failure becomes a status code and a JSON body
//! `{ "error": code, "message": text, "field": name? }`, plus members a route adds (a
//! topology failure lists its `problems`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::model::ModelError;
use crate::store::StoreError;

/// An HTTP error answer.
#[derive(Debug)]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// Machine-readable code, e.g. `unknown_kind`.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
    /// More members of the body (e.g. `problems` of a topology check), merged into it.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            extra: None,
        }
    }

    /// The same error with more members in its body (never `error`, `message` or `field`).
    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value);
        self
    }

    /// 400: the request cannot be read (malformed JSON, bad query parameter).
    pub fn bad_request(
        code: &'static str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            field: field.map(str::to_owned),
            ..Self::new(StatusCode::BAD_REQUEST, code, message)
        }
    }

    /// 404: no such record or collection.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 422: well-formed, but a value is invalid.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: e.code,
            message: e.message,
            field: Some(e.field),
            extra: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", message)
            }
            StoreError::Stale(what) => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!(
                    "{what} changed meanwhile (maybe on another replica): read it again, and resend with If-Match"
                ),
            ),
            StoreError::VersionMismatch {
                id,
                expected,
                found,
            } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!(
                    "{id} is at version {found}, not {expected}: it changed meanwhile (maybe on another replica); read it again and resend with If-Match"
                ),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store_error",
                    "the store failed; nothing was changed",
                )
            }
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "body_too_large",
                format!("the request body is too large: {}", e.body_text()),
            )
        } else {
            ApiError::new(status, "unreadable_body", e.body_text())
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        for (key, value) in self.extra.into_iter().flatten() {
            body.as_object_mut()
                .expect("built as an object")
                .entry(key)
                .or_insert(value);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"gridcircle\""),
            );
        }
        response
    }
}
