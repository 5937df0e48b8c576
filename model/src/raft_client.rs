//! The models' Raft clients: one request in flight, retried under the shared policy
//! ([`RaftRetry`], which the gateway and the transport's client follow too) a bounded
//! number of times. The model has no client clock, so a retry after a pause is sent at
//! once: the checker explores every interleaving a pause could produce anyway.

use kactor_actors::kernel::NodeId;
use kactor_actors::raft::{ClientReply, NextAttempt, RaftRetry, RequestId, StateMachine};

/// Times a client tries one request before giving up (bounds the state space).
pub const CLIENT_ATTEMPTS_MAX: u8 = 2;

/// A client's request in flight and the member it asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftClient {
    pub request: RequestId,
    pub retry: RaftRetry,
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
    pub fn new(request: RequestId, target: NodeId) -> RaftClient {
        RaftClient {
            request,
            retry: RaftRetry::new(target),
            attempts: 0,
        }
    }

    /// The member the request in flight goes to.
    pub fn target(&self) -> NodeId {
        self.retry.target()
    }

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
        match body {
            ClientReply::Output(_) => {
                self.attempts = 0;
                AfterReply::Answered
            }
            ClientReply::Refused(_) if self.attempts >= CLIENT_ATTEMPTS_MAX => AfterReply::Ignore,
            ClientReply::Refused(refusal) => {
                let members: Vec<NodeId> = (0..servers as NodeId).collect();
                let target = self.retry.target();
                match self.retry.on_refusal(&members, target, refusal) {
                    NextAttempt::Now | NextAttempt::AfterPause => AfterReply::Resend,
                    NextAttempt::GiveUp => AfterReply::Ignore,
                }
            }
            _ => AfterReply::Ignore,
        }
    }
}
