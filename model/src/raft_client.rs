//! The models' Raft clients: one request in flight, sent again to the leader a refusal
//! names (or the next member), or to the same member when it was busy, a bounded number
//! of times.

use kactor_actors::kernel::NodeId;
use kactor_actors::raft::{ClientReply, Refusal, RequestId, StateMachine};

/// Times a client tries one request before giving up (bounds the state space).
pub const CLIENT_ATTEMPTS_MAX: u8 = 2;

/// A client's request in flight and the member it asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftClient {
    pub request: RequestId,
    pub target: NodeId,
    pub attempts: u8,
}

/// What a client does after a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterReply {
    /// The request in flight was answered: the client may go on to its next one.
    Answered,
    /// Send the request in flight again, to `target` (which the reply may have changed).
    Resend,
    /// A duplicate, a reply to an earlier request, or a refusal after the last attempt.
    Ignore,
}

impl RaftClient {
    /// Counts one more attempt at the request in flight, which the caller sends.
    pub fn attempt(&mut self) {
        self.attempts += 1;
    }

    pub fn on_reply<S: StateMachine>(
        &mut self,
        servers: usize,
        request: RequestId,
        body: &ClientReply<S>,
    ) -> AfterReply {
        if request != self.request {
            return AfterReply::Ignore;
        }
        let retry_left = self.attempts < CLIENT_ATTEMPTS_MAX;
        match body {
            ClientReply::Output(_) => {
                self.attempts = 0;
                AfterReply::Answered
            }
            ClientReply::Refused(Refusal::NotLeader { leader }) if retry_left => {
                self.target = leader.unwrap_or((self.target + 1) % servers as NodeId);
                AfterReply::Resend
            }
            ClientReply::Refused(Refusal::Busy { .. }) if retry_left => AfterReply::Resend,
            _ => AfterReply::Ignore,
        }
    }
}
