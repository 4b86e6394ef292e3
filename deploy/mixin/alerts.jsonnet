// The alerts as a Prometheus rule file: jsonnet -S alerts.jsonnet > bird_call_exporter.alerts.yml
std.manifestYamlDoc((import 'mixin.libsonnet').prometheusAlerts)
