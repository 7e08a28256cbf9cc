//! `rxl`: xl's subcommands on xenlight's public API only (no `sys`), with
//! xl's names, options, output and exit codes, so an administrator can use
//! it in place of `xl` for what it covers. Every report command also takes
//! `--json`: the same facts, under stable field names (see README).
//!
//! Exit codes are xl's: 0 on success, 1 when the command fails (the
//! message on stderr), 2 for a command line clap refuses.

mod control;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xenlight::Context;

/// xl's subcommands, on xenlight.
#[derive(Parser)]
#[command(name = "rxl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, each named and shaped as xl's (`xl help CMD`).
#[derive(Subcommand)]
enum Command {
    /// List information about all/some domains.
    List {
        /// Output more detailed information (UUID, reason code, security label).
        #[arg(short, long)]
        verbose: bool,
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
        /// Only this domain (name or id).
        domain: Option<String>,
    },
    /// List outstanding claim information about all domains.
    Claims {
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Get information about Xen host memory sharing.
    Sharing {
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
        /// Only this domain (name or id).
        domain: Option<String>,
    },
    /// Convert a domain name to a domain id.
    Domid {
        /// The domain's name.
        name: String,
    },
    /// Convert a domain id to a domain name.
    Domname {
        /// The domain's id.
        id: String,
    },
    /// List guest domains, excluding dom0, stubdoms, etc.
    #[command(name = "vm-list")]
    VmList {
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print uptime for all/some domains.
    Uptime {
        /// Short mode: " HH:MM:SS up UPTIME, NAME (ID)".
        #[arg(short)]
        s: bool,
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
        /// Only these domains (names or ids).
        domains: Vec<String>,
    },
    /// Read and/or clear the Xen console's message buffer.
    Dmesg {
        /// Clear the buffer after reading it.
        #[arg(short, long)]
        clear: bool,
    },
    /// Create a domain from an xl.cfg file.
    Create {
        /// Leave the domain paused after it is created.
        #[arg(short = 'p')]
        paused: bool,
        /// Dry run: print libxl's JSON of the domain's config, create nothing.
        #[arg(short = 'n', long = "dryrun")]
        dry_run: bool,
        /// The xl.cfg file.
        config: String,
    },
    /// Terminate a domain immediately.
    Destroy {
        /// The domain (name or id).
        domain: String,
    },
    /// Pause execution of a domain.
    Pause {
        /// The domain (name or id).
        domain: String,
    },
    /// Unpause a paused domain.
    Unpause {
        /// The domain (name or id).
        domain: String,
    },
    /// Issue a shutdown signal to a domain.
    Shutdown {
        /// Wait for the domain to complete its shutdown.
        #[arg(short, long)]
        wait: bool,
        /// The domain (name or id).
        domain: String,
    },
    /// Issue a reboot signal to a domain.
    Reboot {
        /// The domain (name or id).
        domain: String,
    },
    /// Rename a domain.
    Rename {
        /// The domain (name or id).
        domain: String,
        /// Its new name.
        new_name: String,
    },
    /// Set the current memory usage for a domain (xl's sizes: 512, 512m, 1g, 262144k).
    #[command(name = "mem-set")]
    MemSet {
        /// The domain (name or id).
        domain: String,
        /// The new target.
        mem: String,
    },
    /// Set the maximum amount of memory for a domain.
    #[command(name = "mem-max")]
    MemMax {
        /// The domain (name or id).
        domain: String,
        /// The new maximum.
        mem: String,
    },
    /// Set the number of active VCPUs allowed for the domain.
    #[command(name = "vcpu-set")]
    VcpuSet {
        /// The domain (name or id).
        domain: String,
        /// How many vCPUs are online.
        count: u32,
    },
    /// Send a sysrq to a domain.
    Sysrq {
        /// The domain (name or id).
        domain: String,
        /// The sysrq letter.
        letter: char,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = match Context::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot init xl context: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&ctx, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one subcommand; an error is xl's message for it.
fn run(ctx: &Context, command: Command) -> Result<(), String> {
    use Command as C;
    match command {
        C::List {
            verbose,
            json,
            domain,
        } => report::list(ctx, verbose, json, domain.as_deref()),
        C::Claims { json } => report::claims(ctx, json),
        C::Sharing { json, domain } => report::sharing(ctx, json, domain.as_deref()),
        C::Domid { name } => report::domid(ctx, &name),
        C::Domname { id } => report::domname(ctx, &id),
        C::VmList { json } => report::vm_list(ctx, json),
        C::Uptime { s, json, domains } => report::uptime(ctx, s, json, &domains),
        C::Dmesg { clear } => report::dmesg(ctx, clear),
        C::Create {
            paused,
            dry_run,
            config,
        } => control::create(ctx, &config, paused, dry_run),
        C::Destroy { domain } => control::destroy(ctx, &domain),
        C::Pause { domain } => control::pause(ctx, &domain),
        C::Unpause { domain } => control::unpause(ctx, &domain),
        C::Shutdown { wait, domain } => control::shutdown(ctx, &domain, wait),
        C::Reboot { domain } => control::reboot(ctx, &domain),
        C::Rename { domain, new_name } => control::rename(ctx, &domain, &new_name),
        C::MemSet { domain, mem } => control::mem_set(ctx, &domain, &mem),
        C::MemMax { domain, mem } => control::mem_max(ctx, &domain, &mem),
        C::VcpuSet { domain, count } => control::vcpu_set(ctx, &domain, count),
        C::Sysrq { domain, letter } => control::sysrq(ctx, &domain, letter),
    }
}

/// xl's `find_domain` (`libxl_domain_qualifier_to_domid`): a string of
/// digits is an id, taken as it is; anything else is a name looked up.
fn find_domain(ctx: &Context, which: &str) -> Result<xenlight::Domid, String> {
    let invalid = |rc: i32| format!("{which} is an invalid domain identifier (rc={rc})");
    if !which.is_empty() && which.bytes().all(|b| b.is_ascii_digit()) {
        let id: u32 = which.parse().map_err(|_| invalid(-6))?;
        return xenlight::Domid::new(id).map_err(|_| invalid(-6));
    }
    // libxl_name_to_domid's code for a name no domain has: ERROR_INVAL.
    ctx.domid_by_name(which).map_err(|_| invalid(-6))
}
