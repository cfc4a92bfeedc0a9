#!/bin/busybox sh
# /init of an archlab guest (deploy/archlab/lab.sh copies it into the initramfs): mounts the
# kernel's filesystems, brings eth0 up on qemu's user network, starts pvmd on TCP and powers
# the machine off when the host writes "poweroff" on the console, or at the time limit. TCP
# needs mutual TLS: lab.sh put the server certificate, the lab's CA and the policy that
# grants its client certificate in /etc/pvmd.
# Kernel command line: archlab.port=, archlab.timeout= (seconds), archlab.otlp= (endpoint).
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run/pvmd
mount -t tmpfs tmpfs /dev/shm
echo "archlab: init at $(cut -d' ' -f1 /proc/uptime)s on $(uname -r) $(uname -m)"

port=50051
limit=3600
otlp=
otlp_protocol=grpc
for arg in $(cat /proc/cmdline); do
  case $arg in
    archlab.port=*) port=${arg#*=} ;;
    archlab.timeout=*) limit=${arg#*=} ;;
    archlab.otlp=*) otlp=${arg#*=} ;;
    archlab.otlp_protocol=*) otlp_protocol=${arg#*=} ;;
  esac
done
(sleep "$limit" && echo "archlab: time limit of ${limit}s reached, powering off" && poweroff -f) &

# The virtio-net modules of this very kernel, in dependency order (lab.sh resolved it).
for module in $(cat /lib/archlab/modules.list); do
  insmod "/lib/archlab/modules/$module.ko" || echo "archlab: insmod $module failed"
done
hostname "$(cat /etc/hostname)"
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2

# A quiet process for the host to read and write into (pvmctl read / write --verify).
sleep 2147483647 &
echo "archlab: target pid $!"

echo "archlab: starting pvmd at $(cut -d' ' -f1 /proc/uptime)s"
# An OTLP receiver on the host is 10.0.2.2 from here (qemu's user network); the daemon's
# exporter follows the standard OTEL_* variables.
if [ -n "$otlp" ]; then
  export OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" OTEL_EXPORTER_OTLP_PROTOCOL="$otlp_protocol"
  export OTEL_SERVICE_NAME="pvmd-archlab-$(uname -r)"
fi
Logging__Console__FormatterOptions__ColorBehavior=Disabled \
  /opt/pvmd/pvmd --listen "0.0.0.0:$port" --socket /run/pvmd/pvmd.sock \
  --tls-cert /etc/pvmd/server.pem --tls-key /etc/pvmd/server.key \
  --tls-client-ca /etc/pvmd/ca.pem --policy /etc/pvmd/policy.yaml &
echo "archlab: pvmd pid $!"
# Marks when the daemon's socket listens (port in hex, state 0A = LISTEN), to tell the
# runtime's start from the first call's cost.
hexport=$(printf '%04X' "$port")
(while ! grep -q ":$hexport 00000000:0000 0A" /proc/net/tcp; do sleep 0.2; done
  echo "archlab: pvmd listening at $(cut -d' ' -f1 /proc/uptime)s") &

while read -r line; do
  case $line in
    poweroff) break ;;
  esac
done </dev/console
echo "archlab: poweroff requested"
poweroff -f
