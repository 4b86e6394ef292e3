#!/usr/bin/env bash
# Generates alerts.json and rules.json, the rule files of deploy/prometheus/rules/ as JSON, which
# mixin.libsonnet imports (jsonnet reads JSON, not YAML). The rule files stay the only source of
# the rules; run this script after changing them, and commit its output. The tests check that
# the committed files equal the output.
#
# Usage: generate.sh          write alerts.json and rules.json
#        generate.sh --check  exit 1 if they are out of date
#
# Needs python3 with PyYAML (Debian python3-yaml).
set -euo pipefail
export LC_ALL=C

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rules="${dir}/../prometheus/rules"
check=0
case "${1-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

status=0
for kind in alerts rules; do
  generated="$(python3 -c 'import json, sys, yaml
print(json.dumps(yaml.safe_load(open(sys.argv[1])), indent=2, sort_keys=True))' \
    "${rules}/bird_call_exporter.${kind}.yml")"
  target="${dir}/${kind}.json"
  if [ "${check}" -eq 1 ]; then
    if [ "$(cat "${target}" 2>/dev/null)" != "${generated}" ]; then
      echo "${target} is out of date: run $0" >&2
      status=1
    fi
  else
    printf '%s\n' "${generated}" >"${target}"
  fi
done
exit "${status}"
