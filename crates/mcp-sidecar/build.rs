//! Tells cargo what else the binary's bytes depend on, so a warm target dir never reuses a link
//! that a cold one would not reproduce.

fn main() {
    // lld writes SOURCE_DATE_EPOCH into a PE's TimeDateStamp; cargo does not track that variable,
    // so without this a new commit's build reuses the exe stamped with an older commit's time.
    // Other formats do not embed it, and need not relink when it changes.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
