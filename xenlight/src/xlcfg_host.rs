//! xl.cfg read on the Xen host, as `xl create` there reads it: with the
//! host's /etc/xen/xl.conf and its CPU and NUMA layout.

use std::path::Path;

use crate::context::Context;
use crate::error::Result;
use crate::types::Bitmap;
use crate::xlcfg::{self, HostFacts, XlConf, XlConfig};

impl Context {
    /// Reads xl.cfg text exactly as `xl create` on this host would: with
    /// /etc/xen/xl.conf's defaults ([`XlConf::system`]) and the host's CPUs
    /// and NUMA nodes for `cpus = "node:1"`, `cpus = "all"` and `vnuma`.
    /// See [`DomainConfig::from_xl_cfg`](crate::DomainConfig::from_xl_cfg).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let x = ctx.xl_cfg("name = 'pinned'\nkernel = '/boot/vmlinuz'\nvcpus = 2\ncpus = 'node:0'\n")?;
    /// let domid = ctx.create_domain(&x.config)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn xl_cfg(&self, text: &str) -> Result<XlConfig> {
        self.xl_cfg_named(text, "xl.cfg")
    }

    /// Reads an xl.cfg file as `xl create FILE` on this host would.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let x = ctx.xl_cfg_file("/etc/xen/web.cfg")?;
    /// x.warnings.iter().for_each(|w| eprintln!("warning: {w}"));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn xl_cfg_file(&self, path: impl AsRef<Path>) -> Result<XlConfig> {
        let (text, source) = xlcfg::read_file(path.as_ref())?;
        self.xl_cfg_named(&text, &source)
    }

    fn xl_cfg_named(&self, text: &str, source: &str) -> Result<XlConfig> {
        let xlconf = XlConf::system()?;
        let host = self.host_facts()?;
        xlcfg::read(text, source, &xlconf, Some(&host))
    }

    fn host_facts(&self) -> Result<HostFacts> {
        let topology = self.cpu_topology()?;
        let info = self.physinfo()?;
        let mut node_cpus: Vec<Bitmap> = Vec::new();
        for (cpu, t) in topology.iter().enumerate() {
            let node = t.node as usize;
            // libxl marks CPUs that are not there with node ~0.
            if t.node == u32::MAX {
                continue;
            }
            if node_cpus.len() <= node {
                node_cpus.resize(node + 1, Bitmap::default());
            }
            node_cpus[node].set(cpu);
        }
        Ok(HostFacts {
            cpu_bits: self.cpumap_bytes()? * 8,
            node_cpus,
            nr_nodes: info.nr_nodes,
            online_cpus: info.nr_cpus as usize,
        })
    }
}
