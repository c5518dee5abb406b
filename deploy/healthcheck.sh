#!/usr/bin/env bash
# Container health check: GET /health/ready on pgrelay's admin endpoint; exits 0 on HTTP 200 only.
# Plain bash (/dev/tcp), so the image needs neither curl nor a second JVM. The address is
# PGRELAY_ADMIN_LISTEN (an all-addresses host is reached on loopback), default 127.0.0.1:6433.
set -u

listen=${PGRELAY_ADMIN_LISTEN:-127.0.0.1:6433}
port=${listen##*:}
host=${listen%:*}
host=${host#[}
host=${host%]}
case $host in
  "" | 0.0.0.0 | localhost) host=127.0.0.1 ;;
  :: | ::0) host=::1 ;;
esac

if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "pgrelay admin endpoint $host:$port does not answer" >&2
  exit 1
fi
printf 'GET /health/ready HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
status=""
IFS=$' \r' read -r _ status _ <&3 || true
exec 3<&-
if [[ $status == 200 ]]; then
  exit 0
fi
echo "pgrelay is not ready (HTTP ${status:-no answer} from /health/ready)" >&2
exit 1
