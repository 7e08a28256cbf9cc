//! Issue 24: hostile input through the public API is a typed error, never
//! a panic, an abort, a signal or an `_exit`. Each case runs in a child
//! process (this executable again), so a crash is seen as one.
//!
//! xl.cfg text is read without a hypervisor (libxlutil and the crate's
//! reader); JSON here goes through the serde form (`--features serde`).
//! The same JSON through libxl's own reader (`Context::from_json`) and a
//! hostile migration peer are tested in the Xen host (tests/xen_hostile.rs).

mod common;

use xenlight::{DomainConfig, Error};

/// The xl.cfg text must be refused with a typed error naming `key`.
fn xl_cfg_refused(text: &str, key: &str) {
    match DomainConfig::from_xl_cfg(text) {
        Err(Error::InvalidConfig { field, reason }) => {
            assert_eq!(field, key, "{reason}");
            println!("refused as it should be: {field}: {reason}");
        }
        Err(Error::XlCfgSyntax {
            line,
            column,
            message,
            ..
        }) if key == "syntax" => {
            println!("refused as it should be: {line}:{column}: {message}");
        }
        other => panic!("{key}: {other:?}"),
    }
}

macro_rules! in_a_child {
    ($($(#[$m:meta])* $name:ident => $body:block)*) => {$(
        $(#[$m])*
        #[test]
        fn $name() {
            if let Some(out) = common::in_child(stringify!($name), || $body) {
                common::assert_child_passed(&out);
            }
        }
    )*};
}

const GUEST: &str = "name = 'h'\nkernel = '/k'\n";

in_a_child! {
    /// strtoul makes "-5" 2^64-5: once a map that size was allocated.
    xl_cfg_negative_cpu_is_a_typed_error => {
        xl_cfg_refused(&format!("{GUEST}vcpus = 2\ncpus = '-5'\n"), "cpus");
    }
    xl_cfg_cpu_past_32_bits_is_a_typed_error => {
        xl_cfg_refused(&format!("{GUEST}cpus = '4294967296'\n"), "cpus");
        xl_cfg_refused(&format!("{GUEST}cpus_soft = '16384'\n"), "cpus_soft");
    }
    xl_cfg_cpu_range_to_u64_max_is_a_typed_error => {
        xl_cfg_refused(&format!("{GUEST}cpus = '0-18446744073709551614'\n"), "cpus");
        xl_cfg_refused(&format!("{GUEST}vcpus = 2\ncpus = ['1', '3-18446744073709551614']\n"), "cpus");
    }
    xl_cfg_huge_vcpu_counts_are_typed_errors => {
        xl_cfg_refused(&format!("{GUEST}maxvcpus = 4294967296\n"), "maxvcpus");
        xl_cfg_refused(&format!("{GUEST}maxvcpus = 2147483647\n"), "maxvcpus");
        xl_cfg_refused(&format!("{GUEST}vcpus = 2147483647\n"), "vcpus");
    }
    xl_cfg_huge_memory_is_a_typed_error => {
        xl_cfg_refused(&format!("{GUEST}memory = 9223372036854775807\n"), "memory");
        xl_cfg_refused(&format!("{GUEST}maxmem = '-1'\n"), "maxmem");
    }
    xl_cfg_huge_vnuma_is_a_typed_error => {
        let node = "['pnode=0', 'size=18446744073709551615', 'vcpus=0', 'vdistances=10']";
        xl_cfg_refused(&format!("{GUEST}vnuma = [ {node} ]\n"), "vnuma");
        let nodes = vec!["['size=1', 'vcpus=0']"; 20_000].join(",");
        xl_cfg_refused(&format!("{GUEST}vnuma = [ {nodes} ]\n"), "vnuma");
        let vcpus = "['size=64', 'vcpus=18446744073709551614', 'vdistances=10']";
        xl_cfg_refused(&format!("{GUEST}maxvcpus = 1\nvnuma = [ {vcpus} ]\n"), "vnuma");
    }
    xl_cfg_20000_nested_brackets_are_a_typed_error => {
        let deep = format!("{GUEST}vnuma = {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
        match DomainConfig::from_xl_cfg(&deep) {
            Err(Error::InvalidConfig { .. } | Error::XlCfgSyntax { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    xl_cfg_4_mib_string_is_a_typed_error => {
        let long = "x".repeat(4 << 20);
        xl_cfg_refused(&format!("{GUEST}extra = '{long}'\n"), "extra");
        xl_cfg_refused(&format!("{GUEST}disk = [ '{long}' ]\n"), "disk");
    }
    xl_cfg_nul_byte_names_its_key => {
        xl_cfg_refused("name = 'a\0b'\nkernel = '/k'\n", "name");
    }
}

#[cfg(feature = "serde")]
in_a_child! {
    serde_bitmap_bit_u64_max_is_a_typed_error => {
        let e = serde_json::from_str::<xenlight::types::Bitmap>("[18446744073709551615]").unwrap_err();
        assert!(e.to_string().contains("past the largest map"), "{e}");
        let e = serde_json::from_str::<xenlight::types::DomainConfig>(
            r#"{"b_info": {"cpumap": [0, 18446744073709551615]}}"#,
        )
        .unwrap_err();
        println!("{e}");
    }
    serde_two_union_arms_are_a_typed_error => {
        for json in [
            r#"{"b_info": {"type.pv": {}, "type.hvm": {}}}"#,
            r#"{"b_info": {"type.pv": {}, "type\u002ehvm": {}}}"#,
        ] {
            let r = serde_json::from_str::<xenlight::types::DomainConfig>(json);
            assert!(r.is_err(), "{json}: {r:?}");
            assert!(xenlight::types::check_libxl_json(json).is_err(), "{json}");
        }
    }
    /// serde_json skips an unknown member without recursion (as libxl
    /// ignores unknown keys), so the check before serde refuses the depth.
    serde_5000_nested_objects_are_a_typed_error => {
        let deep = r#"{"c_info": "#.repeat(5000) + "{}" + &"}".repeat(5000);
        let e = xenlight::types::check_libxl_json(&deep).unwrap_err();
        assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
        let deep = format!("{{\"b_info\": {{\"cpumap\": {}{}}}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(serde_json::from_str::<xenlight::types::DomainConfig>(&deep).is_err());
    }
}
