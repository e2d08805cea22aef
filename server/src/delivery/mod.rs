//! Getting notices to Suomi.fi: the outbox worker, its retry policy and the send job; (next)
//! the events poller.

pub mod retry;
pub mod send;
pub mod worker;
