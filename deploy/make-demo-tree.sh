#!/usr/bin/env bash
# Creates the small demo tree that `make run` watches (idempotent).
set -euo pipefail
root=${1:?usage: make-demo-tree.sh DIR}
mkdir -p "$root/etc/app" "$root/www/html/assets" "$root/bin" "$root/.git"
printf 'listen 8080\nworkers 4\n' > "$root/etc/app/app.conf"
printf 'secret=changeme\n' > "$root/etc/app/credentials"
chmod 0600 "$root/etc/app/credentials"
printf '<html><body>hello</body></html>\n' > "$root/www/html/index.html"
printf 'body { color: black; }\n' > "$root/www/html/assets/site.css"
printf '#!/bin/sh\necho demo\n' > "$root/bin/demo-tool"
chmod 0755 "$root/bin/demo-tool"
printf 'ref: refs/heads/main\n' > "$root/.git/HEAD"          # excluded by the default config
printf 'swap\n' > "$root/www/html/.index.html.swp"            # excluded too
ln -sfn ../etc/app/app.conf "$root/bin/app.conf"
echo "demo tree ready at $root"
