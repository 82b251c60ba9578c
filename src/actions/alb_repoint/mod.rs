//! `alb.repoint`: move ALB traffic to recovered targets or another target group.
//!
//! Two modes share one action. Targets mode registers new IP targets in a
//! target group, waits for them to be healthy and deregisters the others.
//! Listener mode rewrites a listener's default action (or one rule) into a
//! weighted forward that shifts traffic to a new target group in stages, with
//! a health hold between stages.
//!
//! Before its first mutating call the action journals the previous state (the
//! registrations or the full listener actions, and the health check settings),
//! so undo restores exactly that state and a re-entered attempt continues from
//! the journal instead of re-reading state it already changed.

mod action;
mod cidr;
mod health;
mod listener_actions;
mod listener_shift;
mod previous;
mod target_group;
mod targets_shift;

pub use action::build;
