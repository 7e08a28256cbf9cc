//! Creates a domain from an xl.cfg file or from flags, like `xl create`.
//!
//! ```text
//! cargo run --example create -- /etc/xen/web.cfg
//! cargo run --example create -- --name web --type pvh --kernel /boot/vmlinuz \
//!     --ramdisk /boot/initrd.img --memory 256 --vcpus 2 --cmdline "console=hvc0" [--paused]
//! ```

use std::process::ExitCode;

use xenlight::{Context, DomainConfig, DomainType};

fn config_from_flags(args: &[String]) -> Result<(DomainConfig, bool), String> {
    let mut name = None;
    let mut ty = DomainType::Pv;
    let mut cfg_file = None;
    let mut paused = false;
    let mut set: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--paused" | "-p" => paused = true,
            "--name" => name = it.next().cloned(),
            "--type" => {
                ty = match it.next().map(String::as_str) {
                    Some("pv") => DomainType::Pv,
                    Some("pvh") => DomainType::Pvh,
                    Some("hvm") => DomainType::Hvm,
                    other => return Err(format!("--type: expected pv, pvh or hvm, got {other:?}")),
                }
            }
            flag @ ("--kernel" | "--ramdisk" | "--cmdline" | "--memory" | "--vcpus") => {
                let v = it.next().ok_or(format!("{flag} needs a value"))?;
                set.push((flag.to_owned(), v.clone()));
            }
            f if f.starts_with('-') => return Err(format!("unknown option {f}")),
            path => cfg_file = Some(path.to_owned()),
        }
    }
    if let Some(path) = cfg_file {
        // As `xl create` reads it on this host (xl.conf, CPU layout); the
        // keys xl ignores are printed, as xl would ignore them.
        let ctx = Context::new().map_err(|e| e.to_string())?;
        let x = ctx.xl_cfg_file(path).map_err(|e| e.to_string())?;
        for w in &x.warnings {
            eprintln!("warning: {w}");
        }
        return Ok((x.config, paused));
    }
    let mut cfg = DomainConfig::new(name.ok_or("give an xl.cfg file or --name")?, ty);
    for (flag, v) in set {
        let num = || {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        cfg = match flag.as_str() {
            "--kernel" => cfg.kernel(v.as_str()),
            "--ramdisk" => cfg.ramdisk(v.as_str()),
            "--cmdline" => cfg.cmdline(v.as_str()),
            "--memory" => cfg.memory_mib(num()?),
            _ => cfg.vcpus(u32::try_from(num()?).map_err(|_| "--vcpus: too many")?),
        };
    }
    Ok((cfg, paused))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cfg, paused) = match config_from_flags(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("create: {e}");
            return ExitCode::from(2);
        }
    };
    let result = Context::new().and_then(|ctx| {
        if paused {
            ctx.create_domain_paused(&cfg)
        } else {
            ctx.create_domain(&cfg)
        }
    });
    match result {
        Ok(domid) => {
            println!(
                "created {} as domain {domid}{}",
                cfg.name(),
                if paused { " (paused)" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("create: {e}");
            ExitCode::FAILURE
        }
    }
}
