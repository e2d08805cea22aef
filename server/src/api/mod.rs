//! The integration API for case-management systems (`/api/v1`): keys first.

pub mod caller;
pub mod keys;
pub mod notices;
pub mod problem;
