//! One-time codes sent to the mobile number a school recorded, for the
//! policy that asks for one after the birth dates
//! ([`GatewayBuilder::one_time_code`](crate::flow::GatewayBuilder::one_time_code)).

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;

/// Sends a one-time code to a phone number (an SMS gateway, in production).
///
/// The gateway draws the code (6 digits from its
/// [`RandomSource`](crate::RandomSource)), keeps only its hash, and accepts
/// it for 5 minutes and 3 tries. Implementations must not log the code.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Sends `code` to `phone` (as the school recorded it).
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), NotifierError>;
}

/// A code could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("the one-time code could not be sent")]
pub struct NotifierError(#[source] pub Box<dyn StdError + Send + Sync + 'static>);

/// Writes codes to standard output, for examples and local development.
///
/// It masks nothing (the point is to read the code), and never goes
/// through `tracing`, so that codes do not end up in collected logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleNotifier;

#[async_trait]
impl Notifier for ConsoleNotifier {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), NotifierError> {
        println!("[educonnect] code à usage unique pour {phone} : {code}");
        Ok(())
    }
}
