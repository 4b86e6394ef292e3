// The dashboards, one file each: jsonnet -m out/ dashboards.jsonnet
(import 'mixin.libsonnet').grafanaDashboards
