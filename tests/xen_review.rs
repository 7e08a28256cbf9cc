//! Hypervisor regression tests for the defects a code review found.

mod common;
