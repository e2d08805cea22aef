//! The integration API for case-management systems (`/api/v1`): keys first.

pub mod keys;
