//! Device proofs (`Secure-Session-Response`) from a hostile client: any bytes are refused or
//! accepted without a panic, and nothing but a proof signed by the bound key passes a renewal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::device::{verify_registration, verify_renewal};

/// A registration proof captured from Chromium 156, whose key is the binding renewals are
/// checked against.
const CHROMIUM_REGISTRATION: &str = "eyJhbGciOiJFUzI1NiIsImp3ayI6eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6Ikd1Mzk4M0NQMmoyVVlVcDc4X2psQXFIMkpBRV9YQ3NYRTA3NHRWY1ItQmsiLCJ5IjoiVDNNYVJvUzVQaVpRQUZJWEJGRWJJNkI3c3dwTW4zZXhmd05lQWtYeVZ0ayJ9LCJ0eXAiOiJkYnNjK2p3dCJ9.eyJhdXRob3JpemF0aW9uIjoiYXV0aGNvZGUteHl6IiwianRpIjoicmVnLWNoYWwtMSJ9.P3Dcdp8T7cywIRqVb096e-Nnz9VWsqWgjPcS9tzY7QuxEStP8gqhD0a64BBx-YLnMj3jGfg2AByI2r-bYWLiQg";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = verify_registration(text);
    let Ok((bound, _)) = verify_registration(CHROMIUM_REGISTRATION) else {
        panic!("the captured proof no longer verifies");
    };
    if let Ok(claims) = verify_renewal(text, &bound) {
        // Only the captured proof itself (or its quoted form) is signed by that key here.
        assert_eq!(claims.challenge, "reg-chal-1");
    }
});
