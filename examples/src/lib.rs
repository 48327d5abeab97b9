//! The runnable examples of EduConnect-rs, and what they share: settings
//! from the environment (the offline sandbox when none), the page shell.
//!
//! - `ent-portal` (axum, [`portal`]): `cargo run -p educonnect-examples --bin ent-portal`
//! - `bourse` (actix-web, [`bourse`]): `cargo run -p educonnect-examples --bin bourse`
#![forbid(unsafe_code)]

pub mod bourse;
pub mod page;
pub mod portal;
pub mod settings;
