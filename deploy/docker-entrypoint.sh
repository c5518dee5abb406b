#!/usr/bin/env bash
# pgrelay container entrypoint: runs `pgrelay serve` with the configuration file, if there is one,
# and PGRELAY_* environment variables; any other pgrelay command line is run as given.
#
#   (no arguments)            pgrelay serve [--config FILE]
#   --pool-size 50 ...        pgrelay serve [--config FILE] --pool-size 50 ...  (flags go to serve)
#   passwd app, check-config  pgrelay passwd app, ...                           (a command runs as is)
#   --version, --help         pgrelay --version, pgrelay --help
#
# FILE is $PGRELAY_CONFIG if set (it must exist), else /etc/pgrelay/pgrelay.yaml if present.
set -euo pipefail

default_config=/etc/pgrelay/pgrelay.yaml
config=${PGRELAY_CONFIG:-}
if [[ -n $config && ! -f $config ]]; then
  echo "pgrelay: PGRELAY_CONFIG=$config: no such file; mount the configuration there or unset PGRELAY_CONFIG" >&2
  exit 78
fi
if [[ -z $config && -f $default_config ]]; then
  config=$default_config
fi

if [[ $# -eq 0 || ($1 == -* && ! $1 =~ ^(-h|--help|-V|--version)$) ]]; then
  serve=(serve)
  if [[ -n $config ]]; then
    serve+=(--config "$config")
  fi
  set -- "${serve[@]}" "$@"
fi
exec pgrelay "$@"
