//! The connections to the upstream: HTTP/1.1, kept alive and reused, on
//! hyper's connection API with a pool of our own.
//!
//! What hyper-util's legacy `Client` did here, it did for any number of
//! hosts and both HTTP versions, and paid for it on every request: its
//! pool key (scheme and authority) hashed byte by byte twice, a checkout
//! racing a connect, a task spawned to wait until the connection could take
//! the next request. The proxy has one upstream and speaks HTTP/1.1 to it:
//! a list of idle connections is enough, and a connection goes back to it
//! when the answer's body has been read to its end, from the body itself.
//!
//! As the legacy client did: a request that a reused connection could not
//! even start sending (the upstream had closed it meanwhile) is sent again
//! on a new connection; an idle connection is dropped after
//! [`IDLE_TIMEOUT`]; `TCP_NODELAY` is set.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// How long an unused connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the upstream could not answer.
pub type UpstreamError = Box<dyn std::error::Error + Send + Sync>;

/// The upstream: where to connect, and the connections ready for a request.
pub struct Upstream {
    /// `host:port`.
    address: String,
    /// Oldest first: a connection is taken from the end and put back there,
    /// so that the least recently used expire at the front.
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    sender: SendRequest<Incoming>,
    since: Instant,
}

impl Upstream {
    /// The upstream at `address` (`host:port`).
    pub fn new(address: String) -> Arc<Self> {
        Arc::new(Self {
            address,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends `request` (its target in origin form, `Host` set) and returns
    /// the answer; its body gives the connection back when read to the end.
    pub async fn send(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    return Ok(response.map(|body| UpstreamBody {
                        body,
                        sender: Some(sender),
                        upstream: self.clone(),
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // Not sent at all, on a connection that had served
                    // before: it was closed meanwhile. Once more on a new one.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(e.into_error().into()),
                },
            }
        }
    }

    /// The most recently used idle connection that can take a request.
    fn checkout(&self) -> Option<SendRequest<Incoming>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(Idle { sender, since }) = idle.pop() {
            if since.elapsed() >= IDLE_TIMEOUT {
                // The newest has expired: all have.
                idle.clear();
                return None;
            }
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Puts a connection ready for the next request back.
    fn put(&self, sender: SendRequest<Incoming>) {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let expired = idle.partition_point(|i| now.duration_since(i.since) >= IDLE_TIMEOUT);
        idle.drain(..expired);
        idle.push(Idle { sender, since: now });
    }

    async fn connect(&self) -> Result<SendRequest<Incoming>, UpstreamError> {
        let stream = tokio::net::TcpStream::connect(self.address.as_str()).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // With upgrades: a WebSocket handshake hands the connection over.
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// The body of an upstream's answer. Read to its end, it puts its
/// connection back for the next request; dropped before, the connection
/// goes back only once ready (or is closed by hyper, its body unread).
pub struct UpstreamBody {
    body: Incoming,
    sender: Option<SendRequest<Incoming>>,
    upstream: Arc<Upstream>,
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
            Some(Ok(frame)) => return Poll::Ready(Some(Ok(frame))),
            Some(Err(e)) => {
                this.sender = None;
                return Poll::Ready(Some(Err(e)));
            }
            None => {}
        }
        // The end: the connection takes the next request as soon as hyper
        // has seen the end too (at once, or the next time it runs).
        if let Some(sender) = &mut this.sender {
            let ready = ready!(sender.poll_ready(cx));
            if let Some(sender) = this.sender.take()
                && ready.is_ok()
            {
                this.upstream.put(sender);
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        let Some(mut sender) = self.sender.take() else {
            return;
        };
        if sender.is_ready() {
            self.upstream.put(sender);
            return;
        }
        // As the legacy client did: wait for the connection in a task (it
        // ends with an error if hyper closes the connection instead).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let upstream = self.upstream.clone();
            runtime.spawn(async move {
                if sender.ready().await.is_ok() {
                    upstream.put(sender);
                }
            });
        }
    }
}
