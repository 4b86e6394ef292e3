// bird_call_exporter as a monitoring mixin (https://monitoring.mixins.dev): the recording rules,
// the alerts and the Grafana dashboards of this repository, with the exporter's job selector as
// a setting. The rule files in deploy/prometheus/rules/ and the dashboards in grafana/dashboards/
// are the source; this file reads them, so the mixin is always what the repository tests.
//
//   local bird = (import 'mixin.libsonnet') + {
//     _config+:: { birdExporterSelector: 'job="bird-exporter"' },
//   };
//   bird.prometheusAlerts  // { groups: [...] }, as for a rule file
{
  _config+:: {
    // The scrape job(s) of the exporter, as PromQL label matchers: BirdExporterDown fires when
    // a target of this selection is down or absent. Every other alert reads the exporter's own
    // series and works whatever the job is called.
    birdExporterSelector: 'job=~"bird[-_]call[-_]exporter.*"',
  },

  // The selector written in the rule file, replaced by _config.birdExporterSelector.
  local fileSelector = 'job=~"bird[-_]call[-_]exporter.*"',
  // alerts.json and rules.json are the rule files as JSON (generate.sh writes them).
  local alertFile = import 'alerts.json',
  local ruleFile = import 'rules.json',
  local config = self._config,

  local withSelector(rule) =
    if std.objectHas(rule, 'alert') && rule.alert == 'BirdExporterDown' then
      rule { expr: std.strReplace(super.expr, fileSelector, config.birdExporterSelector) }
    else rule,

  prometheusAlerts+:: {
    groups+: [
      group { rules: [withSelector(rule) for rule in super.rules] }
      for group in alertFile.groups
    ],
  },

  prometheusRules+:: {
    groups+: ruleFile.groups,
  },

  grafanaDashboards+:: {
    'bird_call_exporter_overview.json': import '../../grafana/dashboards/bird_call_exporter_overview.json',
    'bird_call_exporter_quality.json': import '../../grafana/dashboards/bird_call_exporter_quality.json',
    'bird_call_exporter_health.json': import '../../grafana/dashboards/bird_call_exporter_health.json',
  },
}
