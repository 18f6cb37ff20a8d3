//! Waiting for a buffer mapping without blocking: `map_async` completes a future, which the
//! browser resolves from its event loop and native code after `Device::poll`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    result: Option<Result<(), String>>,
    waker: Option<Waker>,
}

/// Resolves when the mapping requested by [`map_read`] is done (or failed).
pub struct Mapped(Arc<Mutex<State>>);

/// Requests a read mapping of all of `buffer`.
pub fn map_read(buffer: &wgpu::Buffer) -> Mapped {
    let state = Arc::new(Mutex::new(State::default()));
    let shared = state.clone();
    buffer.map_async(wgpu::MapMode::Read, .., move |result| {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(result.map_err(|e| e.to_string()));
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    Mapped(state)
}

impl Future for Mapped {
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match s.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
