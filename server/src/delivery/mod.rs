//! Getting notices to Suomi.fi: the outbox worker, its retry policy and the send job, and the events
//! poller.

pub mod events;
pub mod legal;
pub mod retry;
pub mod send;
pub mod watch;
pub mod worker;
