# A staged rollout by orchestration: the canary master first, then the rest, each applying
# master_plugin.update_supervisord (or master_plugin.update on hosts with an init system).
# The rest is only attempted when the canary succeeded (require).
#
#   salt-run state.orchestrate orch.master_plugin_rollout \
#     pillar='{"canary": "master1*", "targets": "master*", "sls": "master_plugin.update"}'
#
# For batches, a failure budget, health gates and rollback, use the runner instead:
#   salt-run master_plugin.update tgt='master*'
{%- set canary = salt['pillar.get']('canary') %}
{%- set targets = salt['pillar.get']('targets', canary) %}
{%- set sls = salt['pillar.get']('sls', 'master_plugin.update') %}
{%- set pillar = salt['pillar.get']('master_plugin', {}) %}

plugin-canary:
  salt.state:
    - tgt: {{ canary | yaml_dquote }}
    - sls: {{ sls }}
    - pillar: {{ {'master_plugin': pillar} | json }}

{%- if targets != canary %}
plugin-rest:
  salt.state:
    - tgt: {{ (targets ~ ' and not ' ~ canary) | yaml_dquote }}
    - tgt_type: compound
    - sls: {{ sls }}
    - pillar: {{ {'master_plugin': pillar} | json }}
    - require:
      - salt: plugin-canary
{%- endif %}
