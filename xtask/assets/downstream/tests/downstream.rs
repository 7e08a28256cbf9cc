//! A user's program, built against the packaged crates, run on a Xen dom0.

use xenlight::types::{DeviceDisk, IdlType};
use xenlight::{Context, Domid};

#[test]
fn the_packaged_crates_list_domain0_and_speak_libxls_json() {
    let ctx = Context::new().expect("a Xen dom0");
    let doms = ctx.domains().expect("domains");
    assert!(doms.iter().any(|d| d.domid == Domid::DOM0), "{doms:?}");
    let disk = DeviceDisk {
        vdev: Some("xvda".into()),
        ..DeviceDisk::default()
    };
    let json = ctx.to_json(&disk).expect("libxl JSON");
    let back: DeviceDisk = serde_json::from_str(&json).expect("serde reads libxl's JSON");
    assert_eq!(back, disk);
    assert!(disk.to_libxl().is_ok());
    let v = ctx.version_info().expect("version");
    println!("downstream: {} domains, Xen {}", doms.len(), v.version());
}
