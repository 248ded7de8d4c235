//! The engine's business rejections. Each has a stable machine code, a kind the shell
//! maps to a status, and a lowercase message naming the offending value.

/// What sort of rejection an error is, for the shell to choose a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or refers to something that cannot be used (422).
    Invalid,
    /// The addressed resource does not exist (404).
    NotFound,
    /// The request is valid but the current state forbids it (409).
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("domain \"{host}\" is not a domain of this commerce")]
    UnknownDomain { host: String },
    #[error("country \"{value}\" is not an ISO 3166-1 alpha-2 code")]
    InvalidCountry { value: String },
    #[error("a country is required: neither the request, its domain nor the commerce gives one")]
    CountryRequired,
    #[error("language \"{code}\" is not a language of this commerce")]
    UnknownLanguage { code: String },
    #[error("currency \"{code}\" is not a browsing currency of this commerce")]
    UnknownCurrency { code: String },
    #[error("user group \"{code}\" is not defined")]
    UnknownUserGroup { code: String },
}

impl DomainError {
    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::UnknownDomain { .. } => "unknown_domain",
            DomainError::InvalidCountry { .. } => "invalid_country",
            DomainError::CountryRequired => "country_required",
            DomainError::UnknownLanguage { .. } => "unknown_language",
            DomainError::UnknownCurrency { .. } => "unknown_currency",
            DomainError::UnknownUserGroup { .. } => "unknown_user_group",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::UnknownDomain { .. }
            | DomainError::InvalidCountry { .. }
            | DomainError::CountryRequired
            | DomainError::UnknownLanguage { .. }
            | DomainError::UnknownCurrency { .. }
            | DomainError::UnknownUserGroup { .. } => ErrorKind::Invalid,
        }
    }
}
