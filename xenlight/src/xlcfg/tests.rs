use super::*;
use crate::config::Disk;
use crate::enums::Action;

fn cfg(text: &str) -> XlConfig {
    DomainConfig::from_xl_cfg(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn field(text: &str) -> (String, String) {
    match DomainConfig::from_xl_cfg(text) {
        Err(Error::InvalidConfig { field, reason }) => (field, reason),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn full_config_maps_like_xl() {
    let x = cfg(
        "name = \"g\"\ntype = \"pv\"\nkernel = \"/k\"\nramdisk = \"/r\"\nroot = \"/dev/xvda1\"\nextra = \"console=hvc0\"\n\
         memory = 64\nmaxmem = 128\nvcpus = 2\nuuid = \"12345678-9abc-def0-1122-334455667788\"\n\
         disk = [ 'format=raw, vdev=xvdb, access=ro, target=/img' ]\nvif = [ 'bridge=xenbr0,script=vif-bridge' ]\n\
         on_crash = \"preserve\"\n",
    );
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    let cfg = x.config;
    assert_eq!(
        cfg.libxl.b_info.cmdline.as_deref(),
        Some("root=/dev/xvda1 console=hvc0")
    );
    assert_eq!(
        (cfg.memory_kib(), cfg.maxmem_kib(), cfg.max_vcpus()),
        (Some(65536), Some(131072), 2)
    );
    assert_eq!(cfg.disks(), vec![Disk::new("/img", "xvdb").read_only(true)]);
    assert_eq!(cfg.nics()[0].script.as_deref(), Some("vif-bridge"));
    assert_eq!(cfg.actions().on_crash, Action::Preserve);
    assert_eq!(
        cfg.libxl.c_info.uuid.to_string(),
        "12345678-9abc-def0-1122-334455667788"
    );
    // xl's defaults from xl.conf.
    assert_eq!(cfg.libxl.b_info.claim_mode, Some(true));
    assert_eq!(cfg.libxl.c_info.run_hotplug_scripts, Some(true));
}

#[test]
fn unknown_keys_are_warnings_as_xl_ignores_them() {
    let x = cfg(
        "name='x'\nkernel='/k'\nfrobnicate = 1\nvcpus.max = 4\nextra = \"a\\\" b\"\nzz = [ 1 ]\n",
    );
    assert_eq!(
        x.unknown_keys().collect::<Vec<_>>(),
        ["frobnicate", "vcpus.max", "zz"]
    );
    assert_eq!(x.config.libxl.b_info.cmdline.as_deref(), Some("a\" b"));
}

#[test]
fn xl_refusals_are_errors_naming_the_key() {
    assert_eq!(field("name=\"x\"\nkernel=\"/k\"\ntype=\"zz\"\n").0, "type");
    assert_eq!(
        field("name=\"x\"\nkernel=\"/k\"\non_crash=\"boom\"\n").0,
        "on_crash"
    );
    assert_eq!(field("kernel=\"/k\"\n").0, "name");
    assert_eq!(field("name=\"x\"\n").0, "kernel");
    assert_eq!(
        field("name=\"x\"\nkernel=\"/k\"\nvcpus=4\nmaxvcpus=2\n").0,
        "maxvcpus"
    );
    assert_eq!(
        field("name=\"x\"\nkernel=\"/k\"\nvif=['rate=10Mb/s@']\n").0,
        "vif"
    );
    assert_eq!(field("name=\"x\"\ntype='hvm'\nvga='vesa'\n").0, "vga");
    assert_eq!(
        field("name=\"x\"\nkernel='/k'\nvtpm=['uuid=x']\n").0,
        "vtpm"
    );
    assert_eq!(
        field("name=\"x\"\nkernel='/k'\nchannel=['name=a']\n").0,
        "channel"
    );
    assert_eq!(
        field("name=\"x\"\nkernel='/k'\nbuilder='hvm'\ntype='pv'\n").0,
        "builder"
    );
    assert_eq!(field("name=\"x\"\nkernel='/k'\ncpus='node:0'\n").0, "cpus");
    assert_eq!(
        field("name=\"x\"\nkernel=\"/k\"\ndisk=['nonsense,,,,,,,']\n").0,
        "disk"
    );
}

#[test]
fn xl_quirks_are_kept() {
    // A value of the wrong shape is ignored with libxlutil's warning.
    let x = cfg("name='x'\nkernel='/k'\nmemory = 'lots'\n");
    assert_eq!(x.config.libxl.b_info.target_memkb, u64::MAX);
    assert_eq!(x.warnings[0].kind, XlCfgWarningKind::Parser);
    // `type` words are matched as prefixes, as xl's strncmp does.
    assert_eq!(
        cfg("name='x'\ntype='hv'\n").config.domain_type(),
        crate::DomainType::Hvm
    );
    // An unrecognised vif option is skipped, the rest is kept.
    let x = cfg("name='x'\nkernel='/k'\nvif=['bridge=br0,speed=fast,vifname=v0']\n");
    assert_eq!(x.config.libxl.nics[0].ifname.as_deref(), Some("v0"));
    assert_eq!(x.warnings.len(), 1);
    // pvgrub firmware becomes the kernel, in this host's xl's directory
    // (Debian's per-release one here; upstream's on a source-built host).
    let x = cfg("name='x'\nfirmware='pvgrub64'\n");
    assert_eq!(
        x.config.libxl.b_info.kernel.unwrap(),
        format!("{}/pvgrub64.bin", super::firmware_dir())
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,6}",
            "\"[ -~]{0,20}\"",
            "'[ -~]{0,20}'",
            proptest::collection::vec("\"[ -~]{0,12}\"", 0..4)
                .prop_map(|v| format!("[ {} ]", v.join(", "))),
            "[ -~]{0,10}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary text: an error or a config, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = DomainConfig::from_xl_cfg(&text);
        }

        /// Plausible statements with any known key and arbitrary values.
        #[test]
        fn arbitrary_statements_never_panic(
            stmts in proptest::collection::vec(
                (prop_oneof![
                    proptest::sample::select(SUPPORTED_KEYS.to_vec()).prop_map(str::to_owned),
                    "[a-z_]{1,8}",
                ], value()),
                0..8,
            )
        ) {
            let text: String = stmts.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            if let Ok(x) = DomainConfig::from_xl_cfg(&text) {
                // Whatever is read converts to libxl's C structs.
                prop_assert!(crate::types::IdlType::to_libxl(&x.config.libxl).is_ok());
            }
        }
    }
}

/// Issue 24: a syntax error says where (libxlutil's line, the column where
/// its grammar fails), and a NUL byte names the key that holds it.
#[test]
fn syntax_errors_give_line_and_column_and_a_nul_names_its_key() {
    for (text, line, column) in [
        ("name = = \"x\"\n", 1, 8),
        ("name='x'\nkernel='/k'\nmemory = = 3\n", 3, 10),
        ("name='x'\n\nkernel='/k' [\n", 3, 13),
        ("name='x'\ndisk=[ 'a',\n  'b' 'c' ]\n", 3, 7),
    ] {
        match DomainConfig::from_xl_cfg(text) {
            Err(Error::XlCfgSyntax {
                file,
                line: l,
                column: c,
                message,
            }) => {
                assert_eq!((file.as_str(), l, c), ("xl.cfg", line, column), "{text:?}");
                assert!(message.contains("syntax error"), "{message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let (f, reason) = field("name='x'\nkernel='/k'\nextra='a\0b'\n");
    assert_eq!(f, "extra");
    assert!(reason.contains("xl.cfg:3"), "{reason}");
}

/// Issue 24: xl takes an mmio_hole up to HVM_BELOW_4G_MMIO_START (3840
/// MiB), as xl.cfg(5) says.
#[test]
fn mmio_hole_takes_what_xl_takes() {
    let hvm = |mib: u32| format!("name='x'\ntype='hvm'\nmmio_hole={mib}\n");
    for ok in [256, 3776, 3840] {
        let x = cfg(&hvm(ok));
        let types::DomainBuildInfoTypeUnion::Hvm(h) = &x.config.libxl.b_info.type_ else {
            panic!("not HVM");
        };
        assert_eq!(h.mmio_hole_memkb, u64::from(ok) * 1024);
    }
    for bad in [255, 3841] {
        assert_eq!(field(&hvm(bad)).0, "mmio_hole");
    }
}
