//! How a storage contract is declared: [`contract!`] writes the trait as given and, from the same
//! declaration, the [`ObservedStore`](super::ObservedStore) pass-through that counts its calls. So
//! adding a method to a contract touches the contract, each store, and the conformance suite —
//! the observer follows by itself instead of being a fourth place to keep in step.

/// Declares one storage contract.
///
/// The trait holds the contract's async methods (each `&self`, arguments by plain name); they are
/// observed under their own names. Methods with a default body (`fn name(&self) -> T { .. }`)
/// go in a `provided { .. }` block after it; they become part of the trait, and the observer
/// forwards them unobserved, since they are not calls to the database.
macro_rules! contract {
    (
        $(#[$trait_meta:meta])*
        pub trait $contract:ident {
            $(
                $(#[$method_meta:meta])*
                async fn $method:ident(&self $(, $arg:ident: $arg_ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
        $(
            provided {
                $(
                    $(#[$provided_meta:meta])*
                    fn $provided:ident(&self) -> $provided_ret:ty $provided_body:block
                )*
            }
        )?
    ) => {
        $(#[$trait_meta])*
        #[async_trait::async_trait]
        pub trait $contract: Send + Sync + 'static {
            $(
                $(#[$method_meta])*
                async fn $method(&self $(, $arg: $arg_ty)*) -> $ret;
            )*
            $($(
                $(#[$provided_meta])*
                fn $provided(&self) -> $provided_ret $provided_body
            )*)?
        }

        #[async_trait::async_trait]
        impl $contract for super::ObservedStore {
            $(
                async fn $method(&self $(, $arg: $arg_ty)*) -> $ret {
                    self.observe(stringify!($method));
                    self.inner().$method($($arg),*).await
                }
            )*
            $($(
                fn $provided(&self) -> $provided_ret {
                    self.inner().$provided()
                }
            )*)?
        }
    };
}
