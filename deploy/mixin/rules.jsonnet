// The recording rules as a Prometheus rule file: jsonnet -S rules.jsonnet > bird_call_exporter.rules.yml
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusRules)
