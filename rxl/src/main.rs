//! `rxl`: xl's subcommands on xenlight's public API only (no `sys`), with
//! xl's names, options, output and exit codes, so an administrator can use
//! it in place of `xl` for what it covers. Every report command also takes
//! `--json`: the same facts, under stable field names (see README).
//!
//! Exit codes are xl's: 0 on success, 1 when the command fails (the
//! message on stderr), 2 for a command line clap refuses.

mod change;
mod control;
mod report;
mod resources;
mod sched;
mod vdevices;

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
    /// `xl vcpu-list [DOMAIN...]`: each vCPU's CPU, state, time and
    /// affinity.
    #[command(name = "vcpu-list")]
    VcpuList {
        #[arg(long)]
        json: bool,
        domains: Vec<String>,
    },
    /// `xl cpupool-list [-c] [POOL]`: the CPU pools.
    #[command(name = "cpupool-list")]
    CpupoolList {
        #[arg(short, long)]
        cpus: bool,
        #[arg(long)]
        json: bool,
        pool: Option<String>,
    },
    /// `xl sched-credit [-d DOMAIN [-w WEIGHT] [-c CAP]] [-p POOL] [-s [-t
    /// TSLICE] [-r RATELIMIT] [-m DELAY]]`: credit weights, caps and pool
    /// parameters, listed or set.
    #[command(name = "sched-credit")]
    SchedCredit {
        #[command(flatten)]
        args: SchedOptions,
        /// Time slice in ms (with -s).
        #[arg(short = 't', long = "tslice_ms")]
        tslice: Option<i32>,
        /// vCPU migration delay in µs (with -s).
        #[arg(short = 'm', long = "migration_delay_us")]
        migration_delay: Option<i32>,
    },
    /// `xl sched-credit2 [-d DOMAIN [-w WEIGHT] [-c CAP]] [-p POOL] [-s [-r
    /// RATELIMIT]]`: credit2 weights, caps and pool rate limits, listed or
    /// set.
    #[command(name = "sched-credit2")]
    SchedCredit2 {
        #[command(flatten)]
        args: SchedOptions,
    },
    /// `xl channel-list DOMAIN...`: each channel's backend, state and pty.
    #[command(name = "channel-list")]
    ChannelList {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        domains: Vec<String>,
    },
    /// `xl vtpm-list DOMAIN...`: each vTPM's backend and state.
    #[command(name = "vtpm-list")]
    VtpmList {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        domains: Vec<String>,
    },
    /// `xl vkb-list DOMAIN...`: each virtual keyboard's backend and state.
    #[command(name = "vkb-list")]
    VkbList {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        domains: Vec<String>,
    },
    /// `xl pci-list DOMAIN`: the domain's passed-through PCI devices.
    #[command(name = "pci-list")]
    PciList {
        #[arg(long)]
        json: bool,
        domain: String,
    },
    /// `xl pci-assignable-list [-n]`: the devices that can be passed through.
    #[command(name = "pci-assignable-list")]
    PciAssignableList {
        /// Show each device's name.
        #[arg(short = 'n')]
        names: bool,
        #[arg(long)]
        json: bool,
    },
    /// `xl block-list DOMAIN...`: each disk's frontend/backend state.
    #[command(name = "block-list")]
    BlockList {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        domains: Vec<String>,
    },
    /// `xl network-list DOMAIN...`: each network interface's state.
    #[command(name = "network-list")]
    NetworkList {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        domains: Vec<String>,
    },
    Dmesg {
        /// Clear the buffer after reading it.
        #[arg(short, long)]
        clear: bool,
    },
    /// `xl block-attach DOMAIN DISK-SPEC...`: attach a disk.
    #[command(name = "block-attach")]
    BlockAttach {
        domain: String,
        #[arg(required = true)]
        spec: Vec<String>,
    },
    /// `xl block-detach [-f] DOMAIN VDEV`: detach a disk.
    #[command(name = "block-detach")]
    BlockDetach {
        /// Do not wait for the domain to release the device.
        #[arg(short, long)]
        force: bool,
        domain: String,
        vdev: String,
    },
    /// `xl network-attach DOMAIN [key=value...]`: attach a network interface.
    #[command(name = "network-attach")]
    NetworkAttach { domain: String, spec: Vec<String> },
    /// `xl network-detach DOMAIN DEVID|MAC`: detach a network interface.
    #[command(name = "network-detach")]
    NetworkDetach { domain: String, nic: String },
    /// `xl cd-insert DOMAIN VDEV PATH`: put a medium in a CD-ROM drive.
    #[command(name = "cd-insert")]
    CdInsert {
        domain: String,
        vdev: String,
        path: String,
    },
    /// `xl cd-eject DOMAIN VDEV`: empty a CD-ROM drive.
    #[command(name = "cd-eject")]
    CdEject { domain: String, vdev: String },
    /// `xl vcpu-pin [-f] DOMAIN VCPU|all HARD|-|all [SOFT|-|all]`.
    #[command(name = "vcpu-pin")]
    VcpuPin {
        /// Undo an override pinning done by the guest's kernel.
        #[arg(short, long)]
        force: bool,
        domain: String,
        vcpu: String,
        hard: String,
        soft: Option<String>,
    },
    /// `xl trigger DOMAIN nmi|reset|init|power|sleep|s3resume [VCPU]`.
    Trigger {
        domain: String,
        trigger: String,
        #[arg(default_value_t = 0)]
        vcpu: u32,
    },
    /// `xl save DOMAIN FILE`: save the domain's state and stop it.
    Save { domain: String, file: String },
    /// `xl restore FILE`: restore a saved domain.
    Restore { file: String },
    /// `xl cpupool-create name=NAME [sched=SCHED] [cpus=LIST]`.
    #[command(name = "cpupool-create")]
    CpupoolCreate { vars: Vec<String> },
    /// `xl cpupool-destroy POOL`.
    #[command(name = "cpupool-destroy")]
    CpupoolDestroy { pool: String },
    /// `xl cpupool-rename POOL NEWNAME`.
    #[command(name = "cpupool-rename")]
    CpupoolRename { pool: String, name: String },
    /// `xl cpupool-cpu-add POOL CPUS|node:N`.
    #[command(name = "cpupool-cpu-add")]
    CpupoolCpuAdd { pool: String, cpus: String },
    /// `xl cpupool-cpu-remove POOL CPUS|node:N`.
    #[command(name = "cpupool-cpu-remove")]
    CpupoolCpuRemove { pool: String, cpus: String },
    /// `xl cpupool-migrate DOMAIN POOL`.
    #[command(name = "cpupool-migrate")]
    CpupoolMigrate { domain: String, pool: String },
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

/// The options `sched-credit` and `sched-credit2` share (xl_sched.c).
#[derive(clap::Args)]
struct SchedOptions {
    /// The domain whose weight and cap are listed or set.
    #[arg(short = 'd', long = "domain")]
    domain: Option<String>,
    /// The domain's new weight.
    #[arg(short = 'w', long = "weight")]
    weight: Option<i32>,
    /// The domain's new cap (percent of one CPU; 0 is none).
    #[arg(short = 'c', long = "cap")]
    cap: Option<i32>,
    /// The pool's parameters instead of its domains'.
    #[arg(short = 's', long = "schedparam")]
    schedparam: bool,
    /// The pool (name or id).
    #[arg(short = 'p', long = "cpupool")]
    cpupool: Option<String>,
    /// Rate limit in µs (with -s).
    #[arg(short = 'r', long = "ratelimit_us")]
    ratelimit: Option<i32>,
    #[arg(long)]
    json: bool,
}

impl SchedOptions {
    fn into_args(
        self,
        tslice_ms: Option<i32>,
        migration_delay_us: Option<i32>,
    ) -> sched::SchedArgs {
        sched::SchedArgs {
            domain: self.domain,
            weight: self.weight,
            cap: self.cap,
            schedparam: self.schedparam,
            cpupool: self.cpupool,
            tslice_ms,
            ratelimit_us: self.ratelimit,
            migration_delay_us,
            json: self.json,
        }
    }
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
        C::VcpuList { json, domains } => resources::vcpu_list(ctx, json, &domains),
        C::CpupoolList { cpus, json, pool } => {
            resources::cpupool_list(ctx, cpus, json, pool.as_deref())
        }
        C::SchedCredit {
            args,
            tslice,
            migration_delay,
        } => sched::sched(
            ctx,
            xenlight::types::Scheduler::Credit,
            &args.into_args(tslice, migration_delay),
        ),
        C::SchedCredit2 { args } => sched::sched(
            ctx,
            xenlight::types::Scheduler::Credit2,
            &args.into_args(None, None),
        ),
        C::ChannelList { json, domains } => vdevices::channel_list(ctx, json, &domains),
        C::VtpmList { json, domains } => vdevices::vtpm_list(ctx, json, &domains),
        C::VkbList { json, domains } => vdevices::vkb_list(ctx, json, &domains),
        C::PciList { json, domain } => vdevices::pci_list(ctx, json, &domain),
        C::PciAssignableList { names, json } => vdevices::pci_assignable_list(ctx, json, names),
        C::BlockList { json, domains } => resources::block_list(ctx, json, &domains),
        C::NetworkList { json, domains } => resources::network_list(ctx, json, &domains),
        C::BlockAttach { domain, spec } => change::block_attach(ctx, &domain, &spec),
        C::BlockDetach {
            force,
            domain,
            vdev,
        } => change::block_detach(ctx, &domain, &vdev, force),
        C::NetworkAttach { domain, spec } => change::network_attach(ctx, &domain, &spec),
        C::NetworkDetach { domain, nic } => change::network_detach(ctx, &domain, &nic),
        C::CdInsert { domain, vdev, path } => change::cd_insert(ctx, &domain, &vdev, &path),
        C::CdEject { domain, vdev } => change::cd_eject(ctx, &domain, &vdev),
        C::VcpuPin {
            force,
            domain,
            vcpu,
            hard,
            soft,
        } => change::vcpu_pin(ctx, force, &domain, &vcpu, &hard, soft.as_deref()),
        C::Trigger {
            domain,
            trigger,
            vcpu,
        } => change::trigger(ctx, &domain, &trigger, vcpu),
        C::Save { domain, file } => change::save(ctx, &domain, &file),
        C::Restore { file } => change::restore(ctx, &file),
        C::CpupoolCreate { vars } => change::cpupool_create(ctx, &vars),
        C::CpupoolDestroy { pool } => change::cpupool_destroy(ctx, &pool),
        C::CpupoolRename { pool, name } => change::cpupool_rename(ctx, &pool, &name),
        C::CpupoolCpuAdd { pool, cpus } => change::cpupool_cpus(ctx, &pool, &cpus, true),
        C::CpupoolCpuRemove { pool, cpus } => change::cpupool_cpus(ctx, &pool, &cpus, false),
        C::CpupoolMigrate { domain, pool } => change::cpupool_migrate(ctx, &domain, &pool),
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
