// The kv contract's logic (see lib.rs for what it does). `include!`d by kv, kv-shared and
// kv-standalone, each of which provides `Buf` (an owned byte buffer, dropped with the heap the
// library results come from), `host` (the host ABI wrappers) and `lib` (the library's functions,
// lowered: handle -> u32, bytes param -> (ptr, len), bytes result -> u64 `(len << 32) | ptr`).

fn split_pair(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b'=') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// Calls `f` for every non-empty line (without '\n' and a trailing '\r').
fn for_lines<'a>(input: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    for mut line in input.split(|&b| b == b'\n') {
        if let Some((&b'\r', rest)) = line.split_last() {
            line = rest;
        }
        if !line.is_empty() {
            f(line);
        }
    }
}

fn insert_lines(h: u32, input: &[u8]) {
    for_lines(input, |line| {
        let (k, v) = split_pair(line);
        unsafe { lib::map_insert(h, k.as_ptr(), k.len(), v.as_ptr(), v.len()) };
    });
}

#[no_mangle]
pub extern "C" fn main() -> i32 {
    let input = host::input();
    unsafe {
        let h = lib::map_new();
        insert_lines(h, input.as_slice());
        let n = lib::map_len(h);

        let mut msg = Buf::with_capacity(24);
        let mut digits = [0u8; 10];
        msg.extend(b"kv: ");
        msg.extend(rt::fmt_u32(n as u32, &mut digits));
        msg.extend(b" entries");
        host::log(host::INFO, msg.as_slice());

        let enc = Buf::from_ffi(lib::map_encode(h));
        let digest = Buf::from_ffi(lib::sha256(enc.as_ptr(), enc.len()));
        host::output(enc.as_slice());
        host::output(digest.as_slice());
        lib::map_free(h);
        n
    }
}

#[no_mangle]
pub extern "C" fn lookup() -> i32 {
    let input = host::input();
    let all = input.as_slice();
    let (first, rest) = match all.iter().position(|&b| b == b'\n') {
        Some(i) => (&all[..i], &all[i + 1..]),
        None => (all, &[][..]),
    };
    let key = match first.split_last() {
        Some((&b'\r', k)) => k,
        _ => first,
    };
    unsafe {
        let h = lib::map_new();
        insert_lines(h, rest);
        let v = Buf::from_ffi(lib::map_get(h, key.as_ptr(), key.len()));
        host::output(v.as_slice());
        lib::map_free(h);
        v.len() as i32
    }
}

#[no_mangle]
pub extern "C" fn add(a: i64, b: i64) -> i64 {
    unsafe { lib::add_i64(a, b) }
}
