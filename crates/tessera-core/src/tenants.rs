//! Tenants: named groups of sessions inside one deployment. `public` always exists; others are
//! created and deleted through [`Sessions`](crate::Sessions), and deleting one revokes its sessions.

use crate::error::{GeneralError, SessionError};
use crate::types::DEFAULT_TENANT;

/// The longest tenant id, in characters (every store's column holds 128).
pub const MAX_TENANT_ID_LEN: usize = 64;

/// Words that cannot be tenant ids: the first segment of a request path must tell a tenant from
/// the routes that take none.
const RESERVED: [&str; 5] = ["recipe", "config", "hello", "apiversion", "metrics"];

/// Checks a tenant id: 1–64 ASCII letters, digits or `-`, not a reserved route name and not
/// starting with `appid-` (the app prefix of request paths).
pub fn check_tenant_id(tenant_id: &str) -> Result<(), SessionError> {
    let invalid = |why: &str| {
        Err(SessionError::General(GeneralError::InvalidArgument(
            format!("invalid tenant id: {why}"),
        )))
    };
    if tenant_id.is_empty() || tenant_id.len() > MAX_TENANT_ID_LEN {
        return invalid("it must be 1 to 64 characters long");
    }
    if !tenant_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return invalid("only ASCII letters, digits and '-' are allowed");
    }
    let lower = tenant_id.to_ascii_lowercase();
    if RESERVED.contains(&lower.as_str()) || lower.starts_with("appid-") {
        return invalid("the name is reserved");
    }
    Ok(())
}

/// Whether this is the tenant that always exists.
pub fn is_default_tenant(tenant_id: &str) -> bool {
    tenant_id == DEFAULT_TENANT
}

#[cfg(test)]
mod tests {
    use super::check_tenant_id;

    #[test]
    fn tenant_ids_are_checked() {
        for good in ["public", "customer-1", "A1", &"x".repeat(64)] {
            assert!(check_tenant_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a b",
            "a/b",
            "é",
            "recipe",
            "Recipe",
            "appid-x",
            &"x".repeat(65),
            "a\u{0}",
        ] {
            assert!(check_tenant_id(bad).is_err(), "{bad:?}");
        }
    }
}
