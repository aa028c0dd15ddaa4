//! The worker's inbox: a channel, plus the worker's thread so that a
//! command that waits for an answer can wake it.
//!
//! Why not a bare channel: a send to a receiver blocked in `recv` wakes it
//! with a syscall (a futex wake, plus an inter-processor interrupt on a VM)
//! on the *sender's* thread: 2–9 µs on the app's thread for every sparse
//! `track()`. So after activity the worker lingers ([`LINGER`]): it polls
//! its inbox with short naps instead of blocking in `recv`, and a hot
//! command ([`Inbox::send_hot`], the events the app tracks) is then a
//! plain push, with no syscall on the caller's thread. Everything else
//! ([`Inbox::send`]: flushes, close, answers the presenter, the network
//! or a claim sent, and anything a caller waits for) also unparks the
//! worker, so nothing that waits is held back by a nap. Once the linger is
//! over the worker blocks in `recv` again: no timer runs while the app is
//! idle, and the next call pays one wake-up.

use std::sync::mpsc::{SendError, Sender};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use crate::messages::Command;

/// How long the worker polls instead of blocking after it handled a
/// command. One second covers the pace of an app in use (a tap, a screen
/// every second or so) so such calls never pay a wake-up; it ends soon
/// after the app goes quiet, so a backgrounded app costs no wake-ups.
pub const LINGER: Duration = Duration::from_secs(1);

/// The first nap of a linger: short, so a burst that follows a call is
/// picked up at once. Each nap doubles, up to [`MAX_NAP`].
pub const FIRST_NAP: Duration = Duration::from_micros(250);

/// The longest nap, and so the longest an event waits before the worker
/// sees it while lingering: below what a person notices between a tap and
/// its popup (~100 ms). About 25 wake-ups per second while calls arrive
/// once a second: far fewer than the display's own 60–120 frames per second
/// of an app in use, and none once it is idle.
pub const MAX_NAP: Duration = Duration::from_millis(50);

/// The sending side of the worker's commands. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Inbox {
    sender: Sender<Command>,
    worker: Arc<OnceLock<Thread>>,
}

impl Inbox {
    pub fn new(sender: Sender<Command>) -> Inbox {
        Inbox {
            sender,
            worker: Arc::new(OnceLock::new()),
        }
    }

    /// Called once by the worker thread when it starts serving.
    pub fn register_worker(&self) {
        let _ = self.worker.set(std::thread::current());
    }

    /// Sends a command the worker should see now: it is woken if lingering
    /// (an unpark: no syscall unless the worker is napping).
    pub fn send(&self, cmd: Command) -> Result<(), SendError<Command>> {
        self.sender.send(cmd)?;
        if let Some(t) = self.worker.get() {
            t.unpark();
        }
        Ok(())
    }

    /// Sends a command that may wait for the worker's next poll (at most
    /// [`MAX_NAP`]): no syscall on the caller's thread while the worker
    /// lingers.
    pub fn send_hot(&self, cmd: Command) -> Result<(), SendError<Command>> {
        self.sender.send(cmd)
    }
}
