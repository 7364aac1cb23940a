//! The workspace's test kit, under the name these tests use.
#![allow(unused_imports)] // Each test file uses a different part.

pub use tessera_testkit::{database_url, MySqlScratch, PostgresScratch, Server};
