//! Notices: composing and queuing them, and their documents.

pub mod compose;
pub mod content;
pub mod documents;
pub mod drafts;
pub mod letters;
pub mod list;
pub mod preview;
pub mod proof;
pub mod view;
