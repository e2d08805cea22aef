//! Notices: composing and queuing them, and their documents.

pub mod compose;
pub mod documents;
pub mod view;
