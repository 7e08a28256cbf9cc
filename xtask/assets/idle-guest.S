/* The scale bench's guest kernel (cargo xtask bench --scale): a few
 * hundred bytes that load as a 64-bit PV kernel (Xen's ELF notes for the
 * generic loader) and as a PVH kernel (PHYS32_ENTRY), so hundreds of
 * small guests cost the hypervisor's domain build and xenstore, not the
 * copying of a Linux image. Created paused, it never runs; once unpaused
 * it powers off at its first instructions (the bench's simultaneous
 * poweroffs): a PV guest with SCHEDOP_shutdown, a PVH guest by halting
 * with interrupts off, which Xen takes as its last vCPU going down. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 2f - 1f, 6		/* XEN_ELFNOTE_GUEST_OS */
	.asciz "Xen"
1:	.asciz "xenlight-idle"
2:	.balign 4
	.long 4, 2f - 1f, 5		/* XEN_ELFNOTE_XEN_VERSION */
	.asciz "Xen"
1:	.asciz "xen-3.0"
2:	.balign 4
	.long 4, 2f - 1f, 8		/* XEN_ELFNOTE_LOADER */
	.asciz "Xen"
1:	.asciz "generic"
2:	.balign 4
	.long 4, 8, 1			/* XEN_ELFNOTE_ENTRY */
	.asciz "Xen"
	.quad pv_start
	.long 4, 4, 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code64
	.globl _start
_start:
pv_start:
	/* HYPERVISOR_sched_op(SCHEDOP_shutdown, &{SHUTDOWN_poweroff}): a
	 * 64-bit PV guest's hypercall is a syscall with the number in rax. */
	mov	$29, %eax
	mov	$2, %edi
	lea	poweroff(%rip), %rsi
	syscall
1:	jmp	1b

	.code32
pvh_start:
	cli
	hlt
	jmp	pvh_start

	.data
	.balign 4
poweroff:
	.long 0
