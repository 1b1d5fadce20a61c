import { HOOK_PATH, PLACEHOLDER_LIST, PLACEHOLDER_TEMPLATES } from './placeholders.js';

// The first-boot hook is plain POSIX sh that busybox ash runs too, because the guest may have
// nothing else. Values are checked against a character whitelist before they reach sed, so a
// command line cannot change the sed program or the files written.
export const hookScript = `#!/bin/sh
# Installed by ec2-provision (template step "placeholder-hook").
# Fills __IPADDRESS__, __NETMASK__, __GATEWAY__ and __HOSTNAME__ in the files listed in
# /${PLACEHOLDER_LIST}, from pristine copies under /${PLACEHOLDER_TEMPLATES}, using the kernel
# command line:  ec2inv.ip=ADDR/PREFIX  ec2inv.gw=ADDR  ec2inv.hostname=NAME
# It runs before networking on every boot; without ec2inv.ip it changes nothing, so a guest keeps
# the values it was given last.
set -f  # the command line is split on spaces below; a "*" in it must not expand to file names
mounted_proc=
if [ ! -r /proc/cmdline ]; then mount -t proc proc /proc && mounted_proc=1; fi
ip= gw= host=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ec2inv.ip=*) ip=\${arg#ec2inv.ip=} ;;
    ec2inv.gw=*) gw=\${arg#ec2inv.gw=} ;;
    ec2inv.hostname=*) host=\${arg#ec2inv.hostname=} ;;
  esac
done
[ -n "$mounted_proc" ] && umount /proc
[ -n "$ip" ] || exit 0
fail() { echo "ec2inv: $*" >&2; exit 1; }
case "$ip" in */*) prefix=\${ip#*/}; ip=\${ip%%/*} ;; *) prefix=24 ;; esac
case "$ip" in ''|*[!0-9.]*) fail "bad ec2inv.ip: $ip" ;; esac
case "$gw" in *[!0-9.]*) fail "bad ec2inv.gw: $gw" ;; esac
case "$prefix" in ''|*[!0-9]*) fail "bad prefix length: $prefix" ;; esac
[ "$prefix" -le 32 ] || fail "bad prefix length: $prefix"
case "$host" in *[!A-Za-z0-9.-]*) fail "bad ec2inv.hostname: $host" ;; esac
[ -n "$host" ] || host=localhost
mask= n=$prefix
for i in 1 2 3 4; do
  if [ "$n" -ge 8 ]; then o=255; n=$((n - 8)); else o=$(( (256 - (1 << (8 - n))) & 255 )); n=0; fi
  mask="\${mask:+$mask.}$o"
done
# No gateway given: drop the lines that would name one rather than leave a placeholder behind.
if [ -n "$gw" ]; then gwexpr="s/__GATEWAY__/$gw/g"; else gwexpr="/__GATEWAY__/d"; fi
touch /${PLACEHOLDER_LIST} 2>/dev/null || mount -o remount,rw / || fail "root filesystem is read-only"
while read -r f; do
  [ -n "$f" ] || continue
  sed -e "s/__IPADDRESS__/$ip/g" -e "s/__NETMASK__/$mask/g" -e "$gwexpr" -e "s/__HOSTNAME__/$host/g" \\
    "/${PLACEHOLDER_TEMPLATES}/$f" > "/$f" || fail "cannot write /$f"
done < /${PLACEHOLDER_LIST}
hostname "$host" 2>/dev/null
exit 0
`;

export const systemdUnit = `[Unit]
Description=Fill network placeholders from the kernel command line (ec2-provision)
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target systemd-hostnamed.service networking.service systemd-networkd.service NetworkManager.service
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/${HOOK_PATH}
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
`;

export const sysvScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ec2inv-placeholders
# Required-Start:
# Required-Stop:
# X-Start-Before:    hostname networking
# Default-Start:     S
# Default-Stop:
# Short-Description: Fill network placeholders from the kernel command line (ec2-provision)
### END INIT INFO
case "$1" in start|"") exec /${HOOK_PATH} ;; esac
exit 0
`;

export const rebootFlagSysv = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          vzreboot
# Required-Start:
# Required-Stop:
# Default-Start:
# Default-Stop:      6
# Short-Description: Leave /reboot so OpenVZ starts the container again (ec2-provision)
### END INIT INFO
# A container has no power switch: vzctl's vpsreboot restarts a stopped container only when the
# shutdown left this flag behind.
touch /reboot
exit 0
`;

export const rebootFlagUnit = `[Unit]
Description=Leave /reboot so OpenVZ starts the container again (ec2-provision)
DefaultDependencies=no
Before=systemd-reboot.service

[Service]
Type=oneshot
ExecStart=/bin/touch /reboot

[Install]
WantedBy=reboot.target
`;
