//! Getting notices to Suomi.fi: the outbox worker and its retry policy, and (next) the
//! events poller.

pub mod retry;
pub mod worker;
