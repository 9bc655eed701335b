//! Criterion benches for framing (filled in below).
fn main() {}
