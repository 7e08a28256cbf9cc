# dom0 init, after the last program ran (appended by `cargo xtask`).
echo "@@XENLIGHT-TIME $(cut -d' ' -f1 /proc/uptime)@@"
echo @@XENLIGHT-DONE@@
sync
poweroff -f
