/* A PVH "kernel" whose only instruction faults with no IDT to take the
 * fault: the vCPU triple-faults at once (Xen logs "dNvM Triple fault").
 * The Xen host's tests use it to check that they tell a triple fault
 * from their other failures (tests/common: retry_after_triple_fault). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long _start

	.text
	.code32
	.globl _start
_start:
	lidt	null_idt
	ud2

	.balign 8
null_idt:
	.word 0
	.long 0
