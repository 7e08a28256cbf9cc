//! Reads the Xen host's serial log back into per-program results.
//!
//! dom0's init wraps every program it runs in marker lines:
//! `@@RUN-BEGIN <name>@@` ... `@@RUN-END <name> rc=<status>@@`, and prints
//! `@@XENLIGHT-DONE@@` when everything ran. Xen's own console lines (`(XEN)`)
//! are left out of the programs' output.

/// One program run in dom0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub name: String,
    pub output: String,
    /// Exit status; `None` when the run never finished (crash or timeout).
    pub rc: Option<i32>,
    /// Counts from libtest's `test result:` lines.
    pub passed: u32,
    pub failed: u32,
    pub ignored: u32,
    /// Tests that failed while Xen logged a guest triple fault and passed
    /// or failed on a second run (`TEST-RETRIED` markers: test and Xen's line).
    pub retried: Vec<String>,
}

impl RunResult {
    /// Failures as counted for the closing line: libtest's own count, or one
    /// when the program failed without saying which test did.
    pub fn failures(&self) -> u32 {
        match self.rc {
            Some(0) => self.failed,
            _ => self.failed.max(1),
        }
    }
}

/// How the boot ended, from the log alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// init printed its done marker.
    Done,
    /// Xen or dom0's kernel crashed.
    Crashed,
    /// Neither happened (yet).
    Running,
}

use crate::protocol;

pub use crate::protocol::DONE;
const CRASH_SIGNS: &[&str] = &[
    "Kernel panic",
    "Dom0 crashed",
    "(XEN) Panic on CPU",
    "(XEN) ****************************************",
];

/// Whether the log shows the end of the run or a crash.
pub fn ending(log: &str) -> Ending {
    if log.lines().any(|l| clean(l) == DONE) {
        Ending::Done
    } else if CRASH_SIGNS.iter().any(|s| log.contains(s)) {
        Ending::Crashed
    } else {
        Ending::Running
    }
}

fn clean(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n']).trim_start_matches('\r')
}

/// Splits the serial log into the programs' results.
pub fn parse(log: &str) -> Vec<RunResult> {
    let mut results = Vec::new();
    let mut current: Option<RunResult> = None;
    for raw in log.lines() {
        let line = clean(raw);
        if let Some(name) = protocol::parse_run_begin(line) {
            if let Some(unfinished) = current.take() {
                results.push(unfinished);
            }
            current = Some(RunResult {
                name: name.to_owned(),
                output: String::new(),
                rc: None,
                passed: 0,
                failed: 0,
                ignored: 0,
                retried: Vec::new(),
            });
            continue;
        }
        if let Some(rest) = protocol::parse_run_end(line) {
            if let Some(mut r) = current.take() {
                r.rc = rest
                    .rsplit_once("rc=")
                    .and_then(|(_, n)| n.trim().parse().ok());
                results.push(r);
            }
            continue;
        }
        let Some(r) = current.as_mut() else { continue };
        if line.starts_with("(XEN)") {
            continue;
        }
        if let Some(retry) = protocol::parse_test_retried(line.trim()) {
            r.retried.push(retry.to_owned());
        }
        if let Some((p, f, i)) = libtest_counts(line) {
            r.passed += p;
            r.failed += f;
            r.ignored += i;
        }
        r.output.push_str(line);
        r.output.push('\n');
    }
    if let Some(unfinished) = current {
        results.push(unfinished);
    }
    results
}

/// `test result: ok. 3 passed; 1 failed; 0 ignored; ...` -> (3, 1, 0).
pub fn libtest_counts(line: &str) -> Option<(u32, u32, u32)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let rest = rest.split_once(". ")?.1;
    let mut counts = (0, 0, 0);
    for part in rest.split(';') {
        let mut it = part.split_whitespace();
        let (Some(n), Some(what)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        match what {
            "passed" => counts.0 = n,
            "failed" => counts.1 = n,
            "ignored" => counts.2 = n,
            _ => {}
        }
    }
    Some(counts)
}

/// Totals for the closing line `N passed, M failed`. A run that never
/// finished, a crash, a timeout, or no test at all counts as a failure.
pub fn totals(results: &[RunResult], ending: Ending, timed_out: bool) -> (u32, u32) {
    let passed = results.iter().map(|r| r.passed).sum();
    let mut failed: u32 = results.iter().map(RunResult::failures).sum();
    if ending != Ending::Done || timed_out {
        failed = failed.max(1);
    }
    // No program, or no test at all (a filter that matched nothing): fail.
    if results.is_empty() || (passed == 0 && failed == 0) {
        failed = failed.max(1);
    }
    (passed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "(XEN) Xen version 4.17\r\n\
        @@RUN-BEGIN domains@@\r\n\
        running 2 tests\r\n\
        (XEN) d1v0 something\r\n\
        test lists_dom0 ... ok\r\n\
        test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\r\n\
        @@RUN-END domains rc=0@@\r\n\
        @@RUN-BEGIN lifecycle@@\r\n\
        test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out\r\n\
        @@RUN-END lifecycle rc=101@@\r\n\
        @@RUN-BEGIN crashy@@\r\n\
        Segmentation fault\r\n\
        @@RUN-END crashy rc=139@@\r\n\
        @@XENLIGHT-DONE@@\r\n";

    #[test]
    fn parses_runs_and_counts() {
        let r = parse(LOG);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].name, "domains");
        assert_eq!((r[0].passed, r[0].failed, r[0].ignored), (2, 0, 1));
        assert_eq!(r[0].rc, Some(0));
        assert!(!r[0].output.contains("(XEN)"));
        assert!(r[0].output.contains("test lists_dom0 ... ok"));
        assert_eq!((r[1].passed, r[1].failed), (3, 2));
        assert_eq!(r[2].rc, Some(139));
        assert_eq!(
            r[2].failures(),
            1,
            "a crash without libtest output is a failure"
        );
        assert_eq!(ending(LOG), Ending::Done);
        assert_eq!(totals(&r, Ending::Done, false), (5, 3));
    }

    #[test]
    fn unfinished_run_is_a_failure() {
        let log = "@@RUN-BEGIN slow@@\ntest a ... ok\n";
        let r = parse(log);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].rc, None);
        assert_eq!(r[0].failures(), 1);
        assert_eq!(ending(log), Ending::Running);
        // A timeout with everything passed so far still fails the run.
        assert_eq!(totals(&r, Ending::Running, true), (0, 1));
    }

    #[test]
    fn crash_is_detected() {
        let log = "@@RUN-BEGIN x@@\n(XEN) Hardware Dom0 crashed: rebooting machine in 5 seconds.\n";
        assert_eq!(ending(log), Ending::Crashed);
        let log = "Kernel panic - not syncing: Attempted to kill init!";
        assert_eq!(ending(log), Ending::Crashed);
    }

    #[test]
    fn no_tests_is_a_failure() {
        assert_eq!(totals(&[], Ending::Done, false), (0, 1));
        let none_ran = parse(
            "@@RUN-BEGIN a@@\ntest result: ok. 0 passed; 0 failed; 0 ignored\n@@RUN-END a rc=0@@\n",
        );
        assert_eq!(totals(&none_ran, Ending::Done, false), (0, 1));
    }

    #[test]
    fn a_test_run_again_after_a_triple_fault_is_listed_and_counted_once() {
        let log = "@@RUN-BEGIN xen_create@@\r\n\
            test pvh_runs ... (XEN) d18v0 Triple fault - invoking HVM shutdown action 1\r\n\
            @@TEST-RETRIED pvh_runs: (XEN) d18v0 Triple fault - invoking HVM shutdown action 1@@\r\n\
            ok\r\n\
            test result: ok. 6 passed; 0 failed; 0 ignored\r\n\
            @@RUN-END xen_create rc=0@@\r\n\
            @@XENLIGHT-DONE@@\r\n";
        let r = parse(log);
        assert_eq!(
            r[0].retried,
            ["pvh_runs: (XEN) d18v0 Triple fault - invoking HVM shutdown action 1"]
        );
        assert_eq!(totals(&r, Ending::Done, false), (6, 0));
    }

    #[test]
    fn libtest_line_variants() {
        assert_eq!(
            libtest_counts("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.00s"),
            Some((0, 0, 0))
        );
        assert_eq!(libtest_counts("random text"), None);
    }
}
