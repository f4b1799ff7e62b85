#!/bin/sh
# /usr/bin/fimbeat of the Debian package: the binary with the package's paths, as Beats' packages
# run theirs, so that `fimbeat status`, `enroll`, `approve`, `keystore`, `test config` ... act on
# what the service uses (/etc/fimbeat/fimbeat.yml, /var/lib/fimbeat) without --path flags. A
# --path flag given on the command line comes later and wins.
exec /usr/lib/fimbeat/fimbeat --path.home /usr/share/fimbeat --path.config /etc/fimbeat \
  --path.data /var/lib/fimbeat --path.logs /var/log/fimbeat "$@"
