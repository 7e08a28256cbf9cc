#!/bin/sh
# The test guest's /sbin/poweroff, run by the kernel on `xl shutdown`.
echo '@@GUEST-POWEROFF-REQUEST@@' >/dev/console
exec /bin/busybox poweroff -f
