#!/usr/bin/env bash
# js.sh: turns sigstore-js's TypeScript test fixtures into CommonJS modules under /tmp/h10/js, which
# gather.py and peers.py require with node (the fixtures are plain object literals).
set -euo pipefail
R=/work/.mirror/sigstore+sigstore-js/repo
mkdir -p /tmp/h10/js
for f in packages/verify/src/__tests__/__fixtures__/bundles.ts packages/verify/src/__tests__/__fixtures__/trust.ts \
         packages/client/src/__tests__/__fixtures__/bundles/valid.ts; do
  n=$(echo "$f" | sed 's#packages/##; s#/src/__tests__/__fixtures__/#_#; s#/#_#g; s#\.ts$#.js#')
  git -C "$R" show "HEAD:$f" | sed -E '/^import /d;
    s/^export const trustedRoot = TrustedRoot.fromJSON\(trustedRootJSON\);/exports.trustedRoot = trustedRootJSON;/;
    s/^export const ([A-Za-z0-9_]+)(: [^=]+)? =/exports.\1 =/' > "/tmp/h10/js/$n"
done
