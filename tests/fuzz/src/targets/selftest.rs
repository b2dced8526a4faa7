//! Proves the driver catches every way a child can die: the input names the failure.
//! Not part of `all`.

#[allow(clippy::panic)]
pub fn run(input: &[u8]) {
    match input {
        b"panic" => panic!("selftest panic"),
        b"abort" => std::process::abort(),
        b"overflow" => {
            #[allow(unconditional_recursion)]
            fn down(n: u64) -> u64 {
                let pad = [n; 64];
                std::hint::black_box(&pad);
                down(n + 1) + pad[0]
            }
            std::hint::black_box(down(0));
        }
        b"hang" => loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
        },
        b"oom" => {
            let mut v: Vec<Vec<u8>> = Vec::new();
            loop {
                v.push(vec![1u8; 64 * 1024 * 1024]);
                std::hint::black_box(&v);
            }
        }
        _ => {}
    }
}
