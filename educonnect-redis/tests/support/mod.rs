//! The machine's Redis from the environment. (The tests that stop a Redis
//! server start their own: the workspace's `tests/` crate.)

/// The variable `.ci/run` sets to the machine's Redis.
pub(crate) const REDIS_URL_VAR: &str = "EDUCONNECT_TEST_REDIS_URL";

/// The machine's Redis: `None` (with one line saying so) when the variable
/// is not set, as on a laptop. When it is set, the tests use it and fail if
/// it cannot be reached: never a silent skip in CI.
pub(crate) fn shared_redis_url() -> Option<String> {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: {REDIS_URL_VAR} is not set (.ci/run sets it to the machine's Redis)"
            );
            None
        }
    }
}
