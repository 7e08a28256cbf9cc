#!/bin/sh
# Test guest. Command-line words it understands:
#   xlmarker=NAME      printed as @@GUEST-HELLO NAME@@
#   xlnopv             do not load the Xen PV front-end drivers
#   xlpvlate           run xen-detect, then load the PV drivers and run it again
#   xlnet=ADDR/PFX,PEER[,GW]  configure eth0 (default route via GW if given),
#                      ping PEER 3 times (bounded), print @@GUEST-PING ...@@
#   xldisk=DEV         print the first 32 bytes of /dev/DEV as @@GUEST-DISK ...@@
#   xlstay             stay up (reporting block devices as they come and go, the online
#                      CPUs as @@GUEST-CPUS LIST@@ when they change, and bringing up
#                      vCPUs made available, as udev would) until destroyed
#   xlcrash            panic the kernel (a crash, for on_crash) after the marker
#   xlcount            with xlstay: print @@GUEST-COUNT n@@ once a second, n = 1, 2, ...
#   xlkexec            (HVM) kexec into the kernel on /dev/xvda with the initrd on
#                      /dev/xvdb, command line "console=ttyS0 rdinit=/init
#                      xlmarker=MARKER-reset": Xen sees a soft reset; prints @@GUEST-KEXEC@@
#   xlacpi             (HVM) power off when the ACPI power button is pressed: prints
#                      @@GUEST-ACPI-ARMED@@ once listening, @@GUEST-POWER-BUTTON@@ on a press
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
marker=none; stay=; pv=1; net=; disk=; crash=; pvlate=; count=; acpi=; kexec=
for w in $(cat /proc/cmdline); do
  case "$w" in
    xlmarker=*) marker=${w#xlmarker=};; xlstay) stay=1;; xlnopv) pv=;; xlpvlate) pvlate=1; pv=;;
    xlnet=*) net=${w#xlnet=};; xldisk=*) disk=${w#xldisk=};;
    xlcrash) crash=1;; xlcount) count=1;; xlacpi) acpi=1;; xlkexec) kexec=1;;
  esac
done
pv_drivers() { for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done; }
detect() { if [ -x /bin/xen-detect ]; then echo "@@GUEST-DETECT-BEGIN@@"; /bin/xen-detect; echo "@@GUEST-DETECT-END@@"; fi; }
if [ -n "$pv" ]; then pv_drivers; fi
echo "@@GUEST-HELLO $marker@@"
if [ -n "$crash" ]; then echo "@@GUEST-CRASHING@@"; echo c > /proc/sysrq-trigger; fi
if [ -n "$pvlate" ]; then detect; pv_drivers; fi
detect
if [ -n "$kexec" ]; then
  for _ in $(seq 1 100); do [ -e /dev/xvda ] && [ -e /dev/xvdb ] && break; sleep 0.2; done
  cat /dev/xvda > /tmp/kernel; cat /dev/xvdb > /tmp/initrd
  echo "@@GUEST-KEXEC@@"
  /bin/xlkexec /tmp/kernel /tmp/initrd "console=ttyS0 rdinit=/init xlmarker=$marker-reset"
fi
if [ -n "$acpi" ]; then
  insmod /lib/modules/button.ko 2>/dev/null; insmod /lib/modules/evdev.ko 2>/dev/null
  armed=
  for _ in $(seq 1 100); do
    for d in /sys/class/input/input*; do
      [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ] || continue
      for e in "$d"/event*; do
        ev=/dev/input/${e##*/}
        [ -e "$ev" ] || continue
        ( head -c 24 "$ev" >/dev/null && echo "@@GUEST-POWER-BUTTON@@" && poweroff -f ) &
        armed=1
      done
    done
    [ -n "$armed" ] && break
    sleep 0.2
  done
  [ -n "$armed" ] && echo "@@GUEST-ACPI-ARMED@@"
fi
if [ -n "$net" ]; then
  addr=${net%%,*}; rest=${net#*,}; peer=${rest%%,*}; gw=
  [ "$rest" != "$peer" ] && gw=${rest#*,}
  for _ in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done
  ip link set eth0 up; ip addr add "$addr" dev eth0
  [ -n "$gw" ] && ip route add default via "$gw"
  if ping -c 3 -W 2 "$peer" >/dev/null 2>&1; then echo "@@GUEST-PING ok $peer@@"; else echo "@@GUEST-PING failed $peer@@"; fi
fi
if [ -n "$disk" ]; then
  for _ in $(seq 1 50); do [ -e "/dev/$disk" ] && break; sleep 0.2; done
  echo "@@GUEST-DISK $(head -c 32 "/dev/$disk" | tr -dc 'A-Za-z0-9@_-')@@"
fi
if [ -n "$stay" ]; then
  seen=start; n=0; cpus=
  while :; do
    now=$(ls /sys/block | tr '\n' ' ')
    [ "$now" != "$seen" ] && echo "@@GUEST-BLOCK $now@@" && seen=$now
    on=$(cat /sys/devices/system/cpu/online)
    [ "$on" != "$cpus" ] && echo "@@GUEST-CPUS $on@@" && cpus=$on
    if [ -n "$count" ]; then n=$((n + 1)); echo "@@GUEST-COUNT $n@@"; fi
    # What udev's CPU rule does: bring up vCPUs the toolstack made available.
    for c in /sys/devices/system/cpu/cpu*/online; do
      [ "$(cat "$c" 2>/dev/null)" = 0 ] && echo 1 > "$c" 2>/dev/null
    done
    sleep 1
  done
fi
poweroff -f
