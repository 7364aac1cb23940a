//! The conformance suite, once per store. A behaviour tested for one store is tested for all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::suite;
use tessera_core::SessionStore;

/// One module of tests per store: every test of the suite, run against the store `$open` opens.
macro_rules! conformance {
    ($module:ident, $open:expr) => {
        mod $module {
            use super::*;
            suite::conformance_tests!($open);
        }
    };
}

type Opened = Option<(Arc<dyn SessionStore>, Box<dyn std::any::Any + Send>)>;

async fn memory() -> Opened {
    Some((
        Arc::new(tessera_core::testing::MemoryStore::default()),
        Box::new(()),
    ))
}

async fn sqlite() -> Opened {
    let (store, dir) = common::sqlite_store().await;
    Some((store, Box::new(dir)))
}

conformance!(memory_store, memory());
conformance!(sqlite_store, sqlite());

#[cfg(feature = "postgres")]
async fn postgres() -> Opened {
    let (store, scratch) = common::postgres_store().await?;
    Some((store, Box::new(scratch)))
}

#[cfg(feature = "mysql")]
async fn mysql() -> Opened {
    let (store, scratch) = common::mysql_store().await?;
    Some((store, Box::new(scratch)))
}

#[cfg(feature = "postgres")]
conformance!(postgres_store, postgres());
#[cfg(feature = "mysql")]
conformance!(mysql_store, mysql());
