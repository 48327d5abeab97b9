//! The panic boundary: no unwinding crosses into C (it would be undefined
//! behaviour). Every exported function runs its body through [`boundary`]
//! (or [`catch`] when it returns something else than a code).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::educonnect_result;

/// Runs `body`; a panic becomes `EDUCONNECT_PANIC`. Output parameters are
/// only written by `body` once it has succeeded, so a caught panic leaves
/// them as they were set before it (NULL or zero, see each function).
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), educonnect_result>) -> educonnect_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => educonnect_result::EDUCONNECT_OK,
        Ok(Err(code)) => code,
        Err(_) => educonnect_result::EDUCONNECT_PANIC,
    }
}

/// Runs `body`; `None` if it panicked.
pub(crate) fn catch<T>(body: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(body)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_code() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let code = boundary(|| panic!("boom"));
        std::panic::set_hook(previous);
        assert_eq!(code, educonnect_result::EDUCONNECT_PANIC);
        assert_eq!(boundary(|| Ok(())), educonnect_result::EDUCONNECT_OK);
        assert_eq!(
            boundary(|| Err(educonnect_result::EDUCONNECT_EXPIRED)),
            educonnect_result::EDUCONNECT_EXPIRED
        );
    }
}
