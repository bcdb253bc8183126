//! CMS content types (RFC 5652).
