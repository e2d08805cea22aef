//! Nothing here: the fuzz targets are the tests in `tests/targets.rs` (see `Cargo.toml`).
