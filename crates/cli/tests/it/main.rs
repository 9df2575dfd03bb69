//! Integration tests: real servers on port 0, real HTTP, real clients.

mod helpers;

mod access;
mod alertmanager;
mod backup;
mod browser;
mod cli;
mod errors;
mod restart;
mod schemathesis;
mod support;
mod system;
mod tidy;
mod ui;
