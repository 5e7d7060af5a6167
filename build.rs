//! Rebuilds the binary when the built-in theme changes: `include_dir!` (in
//! src/theme.rs) embeds templates/ and static/, but on stable Rust cargo
//! does not see the files a macro reads, so an edited template would not
//! reach the binary.
fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=static");
}
