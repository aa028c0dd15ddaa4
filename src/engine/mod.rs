//! The trigger engine: decides, on the device and offline, which campaign (if
//! any) an event should show. Pure logic over an injected clock and a small
//! store interface, so tests and the simulator replay traces on virtual time.

pub mod counters;
