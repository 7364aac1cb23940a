// The PostgreSQL and MySQL stores embed their migrations at compile time (`sqlx::migrate!`):
// a new migration file must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
