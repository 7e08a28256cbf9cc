/* xlkexec KERNEL INITRD CMDLINE: the test guest's kexec (busybox has
 * none). Loads the kernel with kexec_file_load and reboots into it; an HVM
 * guest under Xen then shuts down for a soft reset (Linux's
 * xen_hvm_shutdown), which the toolstack carries out. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: xlkexec KERNEL INITRD CMDLINE\n");
        return 2;
    }
    int kernel = open(argv[1], O_RDONLY);
    int initrd = open(argv[2], O_RDONLY);
    if (kernel < 0 || initrd < 0) {
        perror("xlkexec: open");
        return 1;
    }
    if (syscall(SYS_kexec_file_load, kernel, initrd, strlen(argv[3]) + 1,
                argv[3], 0UL) != 0) {
        perror("xlkexec: kexec_file_load");
        return 1;
    }
    sync();
    reboot(LINUX_REBOOT_CMD_KEXEC);
    perror("xlkexec: reboot");
    return 1;
}
