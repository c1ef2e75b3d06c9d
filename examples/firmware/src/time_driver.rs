//! embassy-time's driver (feature `embassy`): milliseconds (in 10 ms steps) counted by [`crate::clock`]'s
//! SysTick interrupt, which also wakes the timers that are due (embassy-time-queue-utils'
//! queue, a critical section around it).

use core::cell::{Cell, RefCell};
use core::task::Waker;

use critical_section::Mutex;
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

struct SysTickDriver {
    /// Ticks (ms) since boot; 64 bits, so it never wraps.
    now: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    now: Mutex::new(Cell::new(0)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.now.borrow(cs).get())
    }

    /// Due at the next tick at the latest (a waker for the past wakes then).
    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
        });
    }
}

/// Advances the clock by `ms` and wakes the timers that are due (from SysTick).
pub(crate) fn tick(ms: u64) {
    critical_section::with(|cs| {
        let now = DRIVER.now.borrow(cs).get() + ms;
        DRIVER.now.borrow(cs).set(now);
        DRIVER.queue.borrow_ref_mut(cs).next_expiration(now);
    });
}
