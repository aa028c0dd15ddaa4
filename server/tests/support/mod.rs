//! Fixtures shared by integration tests that need more than an HTTP client (see `common` for that).
#![allow(dead_code)] // each test binary uses a different part of it

pub mod pg;
pub mod stores;
