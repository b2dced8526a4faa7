#!/usr/bin/env bash
# Build, test and package the VS Code extension (called from .ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund
npm run build
npm test
npx --no-install vsce package --out clnrm-lsp.vsix
test -s clnrm-lsp.vsix
