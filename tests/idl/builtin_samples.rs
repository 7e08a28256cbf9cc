// Sample values of libxl's builtin types, for the generated samples in
// tests/idl/samples.rs (which includes this file). Each is away from its
// libxl default and valid for libxl's JSON parser.

impl Sample for bool {
    fn sample(_: u32) -> Self {
        true
    }
}

macro_rules! sample_numbers {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            // 1..=100: never 0, and never a libxl "default" (all ones or -1).
            fn sample(seed: u32) -> Self {
                (seed % 100 + 1) as $t
            }
        }
    )*};
}
sample_numbers!(u8, u16, u32, u64, i32);

impl Sample for Option<String> {
    fn sample(seed: u32) -> Self {
        Some(format!("value-{seed}"))
    }
}

impl Sample for Option<bool> {
    fn sample(seed: u32) -> Self {
        Some(seed % 2 == 0)
    }
}

impl Sample for Uuid {
    fn sample(seed: u32) -> Self {
        let mut b = [0x5a; 16];
        b[0] = seed as u8;
        b[15] = 1;
        Uuid::from_bytes(b)
    }
}

impl Sample for Mac {
    fn sample(seed: u32) -> Self {
        Mac([0x00, 0x16, 0x3e, 0x10, 0x20, seed as u8 | 1])
    }
}

impl Sample for Bitmap {
    // libxl's JSON keeps set bits, not size: the last byte is non-zero so
    // the size survives.
    fn sample(seed: u32) -> Self {
        Bitmap {
            bytes: vec![0b101 | seed as u8, 0x80],
        }
    }
}

impl Sample for Vec<String> {
    fn sample(seed: u32) -> Self {
        vec![format!("arg-{seed}"), "second".to_owned()]
    }
}

impl Sample for Vec<(String, Option<String>)> {
    fn sample(seed: u32) -> Self {
        vec![
            (format!("key-{seed}"), Some("v1".to_owned())),
            ("other".to_owned(), Some("v2".to_owned())),
        ]
    }
}

impl Sample for [u32; 8] {
    // libxl's JSON of a hwcap carries its first 4 words only
    // (libxl_hwcap_gen_json and its parser stop at 4 of the 8).
    fn sample(seed: u32) -> Self {
        [seed, 1, 2, 3, 0, 0, 0, 0]
    }
}

impl Sample for [u8; 16] {
    fn sample(seed: u32) -> Self {
        [seed as u8 | 1; 16]
    }
}

impl Sample for CpuidPolicy {
    fn sample(seed: u32) -> Self {
        let mask = |c: char| Some(format!("{}{}", c.to_string().repeat(31), "1"));
        CpuidPolicy {
            cpuid: vec![
                CpuidLeaf {
                    leaf: 1,
                    subleaf: None,
                    regs: [None, None, mask('x'), None],
                },
                CpuidLeaf {
                    leaf: 7,
                    subleaf: Some(seed % 2),
                    regs: [mask('0'), None, None, mask('k')],
                },
            ],
            msr: vec![MsrPolicy {
                index: 0x10a,
                policy: format!("{}1", "x".repeat(63)),
            }],
        }
    }
}
