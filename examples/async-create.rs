//! Creates a domain from each xl.cfg file given, all at once, with the
//! async API (feature `tokio`): like several `xl create FILE` run side by
//! side, each creation a libxl asynchronous operation. With `--wait`, it
//! then waits for each of them to shut down and destroys it.
//!
//! ```text
//! cargo run --features tokio --example async-create -- --wait a.cfg b.cfg
//! a.cfg: created web (domid 5)
//! b.cfg: created db (domid 6)
//! web (domid 5): poweroff, destroyed
//! ```

use std::process::ExitCode;
use std::time::Duration;

use xenlight::{AsyncContext, Domid};

/// Creates the domain of one xl.cfg file; returns its name and domid.
async fn create(ctx: &AsyncContext, file: &str) -> xenlight::Result<(String, Domid)> {
    let x = ctx.context().xl_cfg_file(file)?;
    for w in &x.warnings {
        eprintln!("{file}: warning: {w}");
    }
    let domid = ctx.create_domain(&x.config).await?;
    println!("{file}: created {} (domid {domid})", x.config.name());
    Ok((x.config.name().to_owned(), domid))
}

/// Waits (up to an hour) for a domain to shut down, then destroys it.
async fn wait_and_destroy(ctx: &AsyncContext, name: &str, domid: Domid) -> xenlight::Result<()> {
    match ctx
        .wait_for_shutdown(domid, Duration::from_secs(3600))
        .await?
    {
        Some(why) => {
            ctx.destroy(domid).await?;
            println!("{name} (domid {domid}): {why}, destroyed");
        }
        None => println!("{name} (domid {domid}): still running after an hour"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let wait = args.iter().any(|a| a == "--wait");
    args.retain(|a| a != "--wait");
    if args.is_empty() {
        eprintln!("usage: async-create [--wait] FILE.cfg...");
        return ExitCode::from(2);
    }
    let ctx = match AsyncContext::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("async-create: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for file in args {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            let (name, domid) = create(&ctx, &file)
                .await
                .map_err(|e| format!("{file}: {e}"))?;
            if wait {
                wait_and_destroy(&ctx, &name, domid)
                    .await
                    .map_err(|e| format!("{name}: {e}"))?;
            }
            Ok::<(), String>(())
        });
    }
    let mut ok = true;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("async-create: {e}");
                ok = false;
            }
            Err(e) => {
                eprintln!("async-create: a task failed: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
